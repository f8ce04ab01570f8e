using System.Globalization;
using System.Text;
using LogsMigration.Load.Infra;

namespace LogsMigration.Load.Raw;

/// <summary>
/// The frames of the raw broadcaster, byte for byte the shape of the service's: a <c>log</c> frame with the same
/// fields (so the same bytes cross the socket), serialised once per line and shared by every client.
/// </summary>
internal static class RawFrames
{
    private const string SourceId = "7f3a0c5e9b1d4e2f8a6c0b9d3e5f7a1c2b4d6e8f0a1b3c5d7e9f1a2b3c4d5e6f";

    public static byte[] Log(string stream, long n, string text, long unixNanoseconds) =>
        Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture,
            $$$"""{"type":"log","data":"n={{{n}}} {{{text}}}","message":"n={{{n}}} {{{text}}}","timestamp":"{{{Rfc3339(unixNanoseconds)}}}","level":"info","source_type":"container","source_id":"{{{SourceId}}}","host_id":"local","stream":"stdout","seq":{{{n}}},"epoch":"0badc0de","metadata":{"container_name":"{{{stream}}}","container_id":"{{{SourceId}}}"}}"""));

    public static byte[] Gap(long missed, long unixNanoseconds)
    {
        var text = $"[logs] {missed} lines were skipped: this connection fell behind the stream.";
        return Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture,
            $$$"""{"type":"log","message":"{{{text}}}","timestamp":"{{{Rfc3339(unixNanoseconds)}}}","data":"{{{text}}}","level":"warning","source_type":"container","source_id":"{{{SourceId}}}","host_id":"local","gap":{"missed":{{{missed}}},"reason":"slow_client"},"metadata":{"gap_missed":"{{{missed}}}","gap_reason":"slow_client"}}"""));
    }

    public static byte[] Connected(long unixNanoseconds) =>
        Encoding.UTF8.GetBytes($$$"""{"type":"connected","message":"Connected to the raw broadcaster.","timestamp":"{{{Rfc3339(unixNanoseconds)}}}","path":"raw"}""");

    public static long NowNanoseconds() => (DateTime.UtcNow.Ticks - DateTime.UnixEpoch.Ticks) * 100;

    private static string Rfc3339(long unixNanoseconds)
    {
        var time = DateTime.UnixEpoch.AddTicks(unixNanoseconds / 100);
        return time.ToString("yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture) + "." + (unixNanoseconds % 1_000_000_000).ToString("D9", CultureInfo.InvariantCulture) + "Z";
    }
}
