using System.Globalization;

namespace LogsMigration.Load.Infra;

/// <summary>
/// The busybox shell scripts of the test containers. A writer prints numbered lines (<c>n=1 …</c>, <c>n=2 …</c>) at a
/// set rate, paced on <c>/proc/uptime</c> (10 ms resolution) so the average rate is exact however slow the shell is,
/// and sleeps with <c>read -t</c> on an open stdin, which needs no fork. Each phase waits for the file
/// <c>/sig/go&lt;phase&gt;</c> (the harness creates it on the host), so every viewer is connected before the first line
/// and the same container can serve several runs. A stack's members also print which member they are first
/// (<c>s=2 n=1 …</c>), since their lines reach a viewer interleaved in one stream.
/// </summary>
internal static class WriterScript
{
    /// <summary>Padding that gives each line about 60 bytes, a typical short log line.</summary>
    public const string Padding = "level=info msg=request-served path=/api/items status=200 bytes=5120";

    /// <summary>A line's text after its counter: the padding, <paramref name="repeat"/> times (about 70 bytes each).</summary>
    public static string Text(int repeat) => string.Join(' ', Enumerable.Repeat(Padding, Math.Max(1, repeat)));

    /// <param name="member">A stack member's number (1, 2…), printed before the counter; 0: none (a container of its own).</param>
    public static string Paced(int rate, long linesPerPhase, int phases = 1, int padding = 1, int member = 0)
    {
        var prefix = member > 0 ? $"s={member} " : "";
        var tick = Math.Clamp(1.0 / rate, 0.005, 0.1).ToString("0.###", CultureInfo.InvariantCulture);
        return $$"""
            R={{rate}}; M={{linesPerPhase}}; P={{phases}}; i=0; p=0
            while [ $p -lt $P ]; do
              p=$((p+1))
              while [ ! -e /sig/go$p ]; do read -t 0.02 _; done
              e=$((p*M)); b=$i
              read u _ < /proc/uptime; s=${u%.*}${u#*.}
              while [ $i -lt $e ]; do
                read u _ < /proc/uptime
                t=$(( b + (${u%.*}${u#*.} - s) * R / 100 + 1 ))
                [ $t -gt $e ] && t=$e
                while [ $i -lt $t ]; do i=$((i+1)); echo "{{prefix}}n=$i {{Text(padding)}}"; done
                read -t {{tick}} _
              done
            done
            exec sleep 2000000
            """;
    }

    /// <summary>A container that prints nothing: for idle subscribers.</summary>
    public const string Silent = "exec sleep 2000000";
}
