using System.Globalization;

namespace LogsMigration.Docker.HostLogs;

/// <summary>
/// The follow loop a reader container runs instead of <c>tail -F</c>, which loses lines at a rotation (those written to
/// the renamed file after its last read, those between its last read and a copy-truncate). It does in busybox
/// <c>sh</c> what <see cref="FollowedFile"/> does locally, on one descriptor (fd 3) held open across the rotation:
/// <list type="bullet">
/// <item>rename: the name's inode is no longer the open file's; the open file is drained, once more after a quiet
/// poll (the writer may still append until it reopens), then the new file is read from its start;</item>
/// <item>copy-truncate: the open file is shorter than the read position, or the bytes just before it changed (the
/// witness); what was written after the last read is read from the copy <c>FILE.1</c> when the copy holds the
/// witness (the 1 KiB before the read position, compared byte for byte with <c>cmp</c>: a shorter or coarser one is
/// fooled by log lines ending in a long constant field) where it was read, then the file again from its start. Each read
/// (at most 1 MiB, with <c>dd</c>, so a burst or a fast writer is passed on in bounded pieces) is held in a file of the
/// container (<c>/.logsmigration-read</c>) and passed on only once the witness shows the file was not cut before it: a
/// file cut and regrown past the read position between two polls would otherwise give the new file's bytes from that
/// offset (half a line, the new file's first lines lost);</item>
/// <item>when the copy cannot give it, a control line (<see cref="IncompletePrefix"/>) says lines may be missing there,
/// so nothing is lost silently.</item>
/// </list>
/// The read position comes from <c>/proc/self/fdinfo/3</c> of a child (it shares the descriptor's offset). busybox
/// <c>head -c</c> reads its count exactly (checked on 1.35: the descriptor's offset is the count after it), so the tail
/// at the start does not read past what it prints. Known limit: after a rename, a writer that still appends to the
/// renamed file more than two polls after its last write is not read (nothing tells the reader it will).
/// </summary>
internal static class ReaderFollowScript
{
    /// <summary>Starts a control line; a log line starting with a SOH byte and this tag is not expected in a text log.</summary>
    public const string IncompletePrefix = "\u0001logsmigration-incomplete ";

    private const string Script = """
        f=$1; n=$2; p=$3; t=/.logsmigration-read; W=1024; C=1048576
        pos() { sed -n 's/^pos:[[:space:]]*//p' /proc/self/fdinfo/3; }
        size() { stat -L -c %s /proc/self/fd/3; }
        raw() { [ "$1" -gt 0 ] && tail -c "+$(( $1 > W ? $1 - W + 1 : 1 ))" "$2" | head -c "$(( $1 > W ? W : $1 ))"; }
        wit() { raw "$1" "$2" | cmp -s - "$t.w"; }
        endnl() { [ -n "$(tail -c 1 "$1")" ] && echo; }
        incomplete() { printf '\001logsmigration-incomplete %s\n' "$1"; }
        restart() { exec 3<"$f"; o=0; q=0; : >"$t.w"; }
        until [ -e "$f" ]; do sleep "$p"; done
        exec 3<"$f"
        if [ "$n" != "+1" ]; then head -c "$(size)" <&3 | tail -n "$n"; fi
        o=$(pos); raw "$o" /proc/self/fd/3 >"$t.w"; q=0
        while :; do
          dd bs=$C count=1 <&3 >"$t" 2>/dev/null
          if [ "$(size)" -ge "$o" ] && wit "$o" /proc/self/fd/3; then
            if [ -s "$t" ]; then
              cat "$t"; o=$(pos); q=0
              { cat "$t.w" "$t"; } | tail -c $W >"$t.n"; cat "$t.n" >"$t.w"
              continue
            fi
            i=$(stat -L -c %i "$f" 2>/dev/null); j=$(stat -L -c %i /proc/self/fd/3)
            if [ -n "$i" ] && [ "$i" != "$j" ]; then
              q=$((q + 1))
              if [ "$q" -gt 1 ]; then endnl /proc/self/fd/3; restart; continue; fi
            fi
          else
            c="$f.1"
            if [ -e "$c" ] && [ "$(stat -L -c %s "$c")" -ge "$o" ] && wit "$o" "$c"; then
              tail -c "+$((o + 1))" "$c"; endnl "$c"
            else
              [ "$o" -gt 0 ] && incomplete "$f was truncated and its copy $c does not hold what was read, lines written after the last read (up to byte $o) may be missing"
            fi
            restart; continue
          fi
          sleep "$p"
        done
        """;

    /// <summary>The reader container's command: follow <paramref name="path"/> from its last <paramref name="lines"/> lines (or <c>+1</c>, from its start).</summary>
    public static IReadOnlyList<string> Command(string path, string lines, TimeSpan pollInterval) =>
        ["sh", "-c", Script, "sh", path, lines, pollInterval.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture)];
}
