"""The report page's Jinja2 template (kept in Python so it ships with the package).

Every value is escaped (the environment autoescapes): customer messages are hostile
input. The only markup passed through is the charts' SVG, made by
gapdesk.reports.charts. No external script, style sheet, font or image: the page's
Content-Security-Policy forbids every request.
"""

from __future__ import annotations

PAGE = """<!doctype html>
{%- macro head(cells) %}<tr>{% for c in cells %}<th>{{ c }}</th>{% endfor %}</tr>{% endmacro %}
{%- macro row(cells, examples=none) %}<tr>{% for c in cells %}<td>{{ c }}</td>{% endfor %}
  {%- if examples is not none %}<td class="text">{{ examples | join(" · ") }}</td>{% endif -%}
</tr>{% endmacro %}
{%- macro empty(words) %}<p class="empty">No data for this view: {{ words }}</p>{% endmacro %}
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy"
      content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>gapdesk report {{ period.since[:10] }} to {{ period.until[:10] }}</title>
<style>
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1f2328;
       max-width: 980px; margin: 2rem auto; padding: 0 1rem; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; }
h2 { font-size: 1.2rem; margin-top: 2.2rem; border-bottom: 1px solid #d0d7de; }
.sub, .how { color: #57606a; } .how { font-size: .85rem; margin-top: -.3rem; }
.empty { background: #fff8e5; border-left: 4px solid #d4a72c; padding: .5rem .8rem; }
.notice { background: #fff8e5; border: 1px solid #d4a72c; padding: .8rem 1rem; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(170px, 1fr));
         gap: .6rem; }
.card { border: 1px solid #d0d7de; border-radius: 6px; padding: .5rem .7rem; }
.card b { display: block; font-size: 1.35rem; }
.card span { color: #57606a; font-size: .85rem; }
table { border-collapse: collapse; width: 100%; font-size: .88rem; margin: .5rem 0; }
th, td { border-bottom: 1px solid #eaeef2; padding: .25rem .4rem; text-align: right;
         vertical-align: top; }
th:first-child, td:first-child, td.text { text-align: left; }
td.text { color: #57606a; font-size: .82rem; max-width: 360px; overflow-wrap: anywhere; }
svg { max-width: 100%; height: auto; }
</style>
</head>
<body>
<h1>gapdesk report</h1>
<p class="sub">From {{ period.since | moment }} to {{ period.until | moment }} (end
excluded){% if channel is defined and channel %}, conversations on the channel {{ channel }}
only{% endif %}; generated {{ generated_at | moment }}. Definitions of every figure:
docs/reports.md.</p>
{% if not has_traffic %}
<p class="notice">No traffic in this period: the bot handled no customer message between
{{ period.since | moment }} and {{ period.until | moment }}. Every view below is empty.</p>
{% endif %}
<div class="cards">
{% for value, words in (
  (volume.messages, "customer messages"),
  (volume.conversations, "conversations"),
  (containment.rate | pct, "contained"),
  (escalation.rate | pct, "handed over (of messages)"),
  (escalation.precision | pct, "hand-overs that were real gaps"),
  (missed_gaps.rate | pct, "answers that missed"),
  (satisfaction.mean | fixed, "mean rating (1-5)"),
  (reliability.ece | fixed(3), "calibration error (ECE)")) %}
<div class="card"><b>{{ value }}</b><span>{{ words }}</span></div>
{% endfor %}
</div>

<h2>Volume</h2>
<p class="how">Customer messages the bot handled, and conversations with at least one,
per UTC day and per channel.</p>
{% if volume.messages %}
{{ charts.per_day | safe }}
{{ charts.per_channel | safe }}
<table>{{ head(["channel", "conversations", "messages"]) }}
{% for r in volume.per_channel %}{{ row([r.channel, r.conversations, r.messages]) }}
{% endfor %}</table>
{% else %}{{ empty("no customer messages in the period.") }}{% endif %}

<h2>Containment</h2>
<p class="how">Conversations with no person brought in (no hand-over, escalation or agent
reply) and no thumbs-down, of the conversations the bot handled.</p>
{% if containment.conversations %}
<p><b>{{ containment.contained }}</b> of {{ containment.conversations }} conversations
contained ({{ containment.rate | pct }}); {{ containment.handed_over }} handed over to a
person; {{ containment.thumbs_down_without_hand_over }} more with a thumbs-down.</p>
{% else %}{{ empty("no conversations in the period.") }}{% endif %}

<h2>Hand-overs</h2>
<p class="how">Rate: bot turns that handed over, of all bot turns. Precision: of the
hand-overs a person judged (a label, or "was it needed?" when resolving), the share
judged a real gap.</p>
{% if escalation.hand_overs %}
<p><b>{{ escalation.hand_overs }}</b> hand-overs of {{ escalation.bot_turns }} bot turns
({{ escalation.rate | pct }}), in {{ escalation.conversations_handed_over }} of
{{ escalation.conversations }} conversations; {{ escalation.asked_for_human }} because the
customer asked for a person.</p>
{% if escalation.judged %}
<p>Precision <b>{{ escalation.precision | pct }}</b>: of {{ escalation.judged }} judged
hand-overs, {{ escalation.real_gaps }} a real gap and {{ escalation.needless }} needless;
{{ escalation.hand_overs - escalation.judged }} not judged.</p>
{% else %}
<p class="empty">No precision: nobody judged a hand-over of the period yet.</p>
{% endif %}
<p>Escalation records now:
{% for name, count in escalation.statuses.items() %}{{ name | replace("_", " ") }} {{ count -}}
{{ "; " if not loop.last }}{% endfor %}.</p>
{% else %}{{ empty("no hand-overs in the period.") }}{% endif %}

<h2>Missed gaps</h2>
<p class="how">Answers later thumbs-downed, labelled a gap, or followed within ten minutes
by a rephrase (the bot's own rule: half the content words again) or a hand-over; the last
two do not count against an answer with a thumbs-up or a "no gap" label.</p>
{% if missed_gaps.answered %}
<p><b>{{ missed_gaps.missed }}</b> of {{ missed_gaps.answered }} answers missed
({{ missed_gaps.rate | pct }}).</p>
<table>{{ head(["signal (an answer may have several)", "answers"]) }}
{{ row(["thumbs-down", missed_gaps.signals.thumbs_down]) }}
{{ row(["labelled a gap", missed_gaps.signals.labelled_gap]) }}
{{ row(["rephrased next", missed_gaps.signals.rephrased]) }}
{{ row(["handed over next", missed_gaps.signals.handed_over]) }}</table>
{% else %}{{ empty("the bot gave no answers in the period.") }}{% endif %}

<h2>By intent, worst first</h2>
<p class="how">Gap turns: labelled a gap, or (not labelled "no gap" and) clarified, handed
over, or a missed gap. Examples are customers' messages, redacted.</p>
{% if by_intent %}
<table>{{ head(["intent", "turns", "gap rate", "missed", "👍", "👎", "hand-overs",
                "examples"]) }}
{% for r in by_intent[:limit] %}{{ row([r.intent, r.turns, r.gap_rate | pct,
  r.missed_gaps, r.thumbs_up, r.thumbs_down, r.hand_overs], r.examples) }}
{% endfor %}</table>
{% if by_intent | length > limit %}
<p class="how">{{ by_intent | length - limit }} more intents in report.json.</p>{% endif %}
{% else %}{{ empty("no customer messages in the period.") }}{% endif %}

<h2>By answer, worst first</h2>
<p class="how">Each knowledge-base answer the bot gave: how often it missed, its thumbs,
and what followed it.</p>
{% if by_answer %}
<table>{{ head(["answer", "given", "missed", "missed rate", "👍", "👎", "rephrased next",
                "handed over next", "examples"]) }}
{% for r in by_answer[:limit] %}{{ row([r.answer, r.answers, r.missed_gaps,
  r.missed_rate | pct, r.thumbs_up, r.thumbs_down, r.rephrased_after,
  r.handed_over_after], r.examples) }}
{% endfor %}</table>
{% if by_answer | length > limit %}
<p class="how">{{ by_answer | length - limit }} more answers in report.json.</p>{% endif %}
{% else %}{{ empty("the bot gave no answers in the period.") }}{% endif %}

<h2>Satisfaction</h2>
<p class="how">Customers' 1-5 ratings of whole conversations, per UTC day.</p>
{% if satisfaction.ratings %}
{{ charts.satisfaction | safe }}
<p>{{ satisfaction.ratings }} ratings, mean <b>{{ satisfaction.mean | fixed }}</b>:
{% for score, count in satisfaction.distribution.items() %}{{ count }} &times; {{ score -}}
{{ ", " if not loop.last }}{% endfor %}.</p>
{% else %}{{ empty("no conversation was rated in the period.") }}{% endif %}

<h2>Waiting times of handed-over customers</h2>
<p class="how">From each escalation to the first claim of the conversation in the console
(wait) and to the first agent reply (first response).</p>
{% if waiting_times.escalations %}
{% set w = waiting_times %}
<table>{{ head(["", "escalations that got there", "median", "90th percentile"]) }}
{{ row(["wait for a person", w.claimed ~ " of " ~ w.escalations,
        w.wait_minutes.median | minutes, w.wait_minutes.p90 | minutes]) }}
{{ row(["first response", w.answered ~ " of " ~ w.escalations,
        w.first_response_minutes.median | minutes, w.first_response_minutes.p90 | minutes]) }}
</table>
<p>{{ w.unanswered }} still without an agent's reply.</p>
{% else %}{{ empty("no escalations in the period.") }}{% endif %}

<h2>Reliability of the serving gap model</h2>
<p class="how">The serving version's predicted gap probability against people's labels
(newest label per turn), in ten equal-width bins; ECE weighs each bin's |observed &minus;
predicted| by its share of the labels. People label what they see (hand-overs, reviews),
not a random sample.</p>
{% set rel = reliability %}
{% if rel.labels %}
{{ charts.reliability | safe }}
<p>Version {{ rel.version }}{% if rel.registry_names %}
({{ rel.registry_names | join(", ") }}){% endif %}, read from the {{ rel.version_source }}:
ECE <b>{{ rel.ece | fixed(3) }}</b> on <b>{{ rel.labels }}</b> labelled turns.</p>
<table>{{ head(["mean predicted", "labelled a gap", "labels"]) }}
{% for b in rel.bins %}{{ row([b.mean_predicted | fixed(3), b.observed | fixed(3), b.turns]) }}
{% endfor %}</table>
{% elif rel.version %}
{{ empty("nobody labelled a turn that version " ~ rel.version ~ " scored in the period.") }}
{% else %}
{{ empty("no serving gap model version is known (no current version in the registry, "
         ~ "no scored turn in the period).") }}
{% endif %}

<h2>Model versions side by side</h2>
<p class="how">Each gap model version that scored turns in the period; a conversation's
rating counts for the version that scored its latest scored turn.</p>
{% if model_versions %}
<table>{{ head(["version", "registry", "scored turns", "hand-over rate", "answers",
                "missed rate", "👎", "ratings", "satisfaction"]) }}
{% for r in model_versions %}{{ row([r.version ~ (" (serving)" if r.serving else ""),
  r.registry_names | join(", ") or "—", r.bot_turns, r.escalation_rate | pct, r.answered,
  r.missed_rate | pct, r.thumbs_down, r.ratings, r.satisfaction | fixed]) }}
{% endfor %}</table>
{% else %}{{ empty("no gap-scored turns in the period.") }}{% endif %}

<h2>Control group against scored traffic</h2>
<p class="how">Conversations answered with GAPDESK_GAP_SCORING=off (recorded as the
decision reason "scoring_off") against gap-scored ones.</p>
{% set cg = control_group %}
{% if cg.both_ran %}
<table>{{ head(["", "conversations", "bot turns", "hand-over rate", "missed rate", "👎",
                "contained", "satisfaction (ratings)"]) }}
{% for name, title in (("scored", "gap-scored"), ("off", "control group (scoring off)")) %}
{% set g = cg[name] %}{{ row([title, g.conversations, g.bot_turns, g.escalation_rate | pct,
  g.missed_rate | pct, g.thumbs_down, g.containment | pct,
  (g.satisfaction | fixed) ~ " (" ~ g.ratings ~ ")"]) }}
{% endfor %}</table>
{% else %}
<p class="empty">No comparison: the period has {{ cg.scored.conversations }} gap-scored and
{{ cg.off.conversations }} control-group conversations; both must have run.</p>
{% endif %}
{% if information is defined %}

<h2>Uncertainty, measured</h2>
<p class="how">Entropy in bits of the predicted intent and of the outcome (a gap turn, as
"By intent" counts it), and the mutual information between them: how much knowing one
tells about the other. Each sentence is worded from the figures.</p>
{% set info = information %}
{% if info.turns %}
<p>{{ info.intents.sentence }}</p>
<p>{{ info.outcome_entropy.sentence }}</p>
<p>{{ info.intent_and_outcome.sentence }}</p>
<p class="how">{{ info.intent_and_outcome.note }}</p>
<table>{{ head(["intent", "turns", "gap rate", "entropy (bits)",
                "share of the uncertainty left", "reading"]) }}
{% for r in info.by_intent.rows[:limit] %}{{ row([r.intent, r.turns, r.gap_rate | pct,
  r.bits | fixed(3), r.share_of_uncertainty_left | pct], [r.reading]) }}
{% endfor %}</table>
<p>{{ info.by_intent.sentence }}</p>
<h3>Stored signals and people's verdicts</h3>
{% set sig = info.signals %}
<p>{{ sig.sentence }}</p>
{% if sig.rows %}
<table>{{ head(["signal", "measured", "labelled turns", "bins", "bits",
                "bits, corrected", "explained", "in words"]) }}
{% for r in sig.rows %}{{ row([r.signal, r.measured, r.turns, r.bins, r.bits | fixed(3),
  r.miller_madow_bits | fixed(3), r.explained | pct], [r.sentence]) }}
{% endfor %}</table>
{% endif %}
<p class="how">{{ sig.limitation }}</p>
{% else %}{{ empty("no customer messages in the period.") }}{% endif %}
{% endif %}
{% if unmet_needs is defined %}

<h2>Unmet needs</h2>
<p class="how">Messages the bot could not answer: handed over as out of scope (the gap
model's reasons, or no answer for the intent), labelled out of scope, clarified and then
handed over, or thumbs-down because "it answered a different question". Grouped into
topics by meaning; the number of topics comes from the data. A draft intent is written
under data/nlu/drafts/, which training skips until a person moves it.</p>
{% set un = unmet_needs %}
{% if un.messages %}
<p><b>{{ un.messages }}</b> unmet messages:
{% for name, count in un.cases.items() %}{{ count }} {{ un.case_names[name] -}}
{{ "; " if not loop.last }}{% endfor %} (a message may be more than one).
{% if un.topics %}{{ un.clustered }} of them in {{ un.topics | length }} topics (a topic
has at least {{ un.min_topic_size }} messages; vectors: {{ un.vectors }}),
{{ un.unclustered }} in none.{% endif %}</p>
{% if un.topics %}
<table>{{ head(["#", "topic", "messages", "first half → second half", "examples",
                "make it an intent"]) }}
{% for t in un.topics[:limit] %}<tr><td>{{ t.number }}</td><td>{{ t.name }}</td>
<td>{{ t.messages }}</td><td>{{ t.first_half }} → {{ t.second_half }} ({{ t.trend }})</td>
<td class="text">{{ t.examples | join(" · ") }}</td>
<td class="text"><code>{{ t.draft_command }}</code></td></tr>
{% endfor %}</table>
{% if un.topics | length > limit %}
<p class="how">{{ un.topics | length - limit }} more topics in report.json.</p>{% endif %}
{% else %}
<p>Too few to form topics: a topic needs at least {{ un.min_topic_size }} messages asking
the same thing.</p>
{% endif %}
{% elif has_traffic %}
<p>No message of the period went unmet by these four signals.</p>
{% else %}{{ empty("no customer messages in the period.") }}{% endif %}
{% endif %}
{% if segments is defined %}

<h2>Customer segments</h2>
<p class="how">Customers (a conversation id; on messaging channels one person across
visits) clustered with k-means on volume, topic mix, channel, gap history and
satisfaction; the number of segments is the one with the best silhouette. Containment:
customers with no person brought in and no thumbs-down; escalation rate: of their
messages.</p>
{% set seg = segments %}
{% if seg.segmented %}
<p><b>{{ seg.customers }}</b> customers in <b>{{ seg.k }}</b> segments (silhouette
{{ seg.silhouette | fixed }}: {{ seg.strength }} structure; tried
{% for t in seg.tried %}k = {{ t.k }}: {{ t.silhouette | fixed }}{{ ", " if not loop.last }}
{%- endfor %}).</p>
<table>{{ head(["segment", "customers", "messages each", "contained", "hand-overs",
                "👎", "satisfaction (ratings)", "top intents"]) }}
{% for r in seg.segments %}{{ row([r.name, r.customers ~ " (" ~ (r.share | pct) ~ ")",
  r.messages_per_customer | fixed(1), r.containment | pct, r.escalation_rate | pct,
  r.thumbs_down_rate | pct, (r.satisfaction | fixed) ~ " (" ~ r.ratings ~ ")"],
  r.top_intents | map(attribute="intent") | list) }}
{% endfor %}</table>
{% elif seg.customers %}
<p class="empty">No segments: {{ seg.reason }}</p>
{% else %}{{ empty("no customers in the period.") }}{% endif %}
{% endif %}
</body>
</html>
"""
