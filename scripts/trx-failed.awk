# Prints each failed test of a TRX file: its name, its message's first lines and its output's last lines (CI shows
# only the tail of the run's output, so this is all a red run says about why).
function unescape(s) {
  gsub(/&quot;/, "\"", s); gsub(/&apos;/, "'", s); gsub(/&lt;/, "<", s); gsub(/&gt;/, ">", s); gsub(/&#xD;/, "", s); gsub(/&amp;/, "\\&", s)
  return s
}
function between(s, op, cl,   a, b) {
  a = index(s, op); if (a == 0) return ""
  s = substr(s, a + length(op)); b = index(s, cl); if (b == 0) return ""
  return substr(s, 1, b - 1)
}
function show(label, text, first, count,   lines, n, i, from, to) {
  n = split(unescape(text), lines, "\n")
  if (first) { from = 1; to = n < count ? n : count } else { from = n - count + 1; if (from < 1) from = 1; to = n }
  for (i = from; i <= to; i++) if (lines[i] ~ /[^ \t]/) print "    " label substr(lines[i], 1, 400)
}
BEGIN { RS = "</UnitTestResult>" }
{
  # A record may hold passed results written as empty elements before the failed one: keep only the last result.
  at = 0; rest = $0
  while ((i = index(rest, "<UnitTestResult ")) > 0) { at += i; rest = substr(rest, i + 1) }
  if (at == 0) next
  result = substr($0, at)
  if (index(substr(result, 1, index(result, ">")), "outcome=\"Failed\"") == 0) next
  $0 = result
  name = between($0, "testName=\"", "\"")
  print "FAILED: " unescape(name)
  show("why: ", between($0, "<Message>", "</Message>"), 1, 6)
  show("out: ", between($0, "<StdOut>", "</StdOut>"), 0, 6)
}
