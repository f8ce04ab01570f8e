using System.Diagnostics.Tracing;
using Microsoft.Diagnostics.NETCore.Client;

namespace LogsMigration.Load.Infra;

/// <summary>
/// Makes a .NET process run a full, blocking garbage collection from outside, the way <c>dotnet-gcdump</c> does:
/// an EventPipe session with the runtime's GCHeapCollect keyword. The idle-memory scenario uses it so that what it
/// reads is what the sessions keep, not the garbage their connecting left behind until the next collection.
/// </summary>
internal static class InducedGc
{
    private const string RuntimeProvider = "Microsoft-Windows-DotNETRuntime";
    private const long GcKeyword = 0x1;
    private const long GcHeapCollectKeyword = 0x800000;

    /// <summary>
    /// Induces the collection and returns once <paramref name="collected"/> says it happened (the caller reads a
    /// counter of collections), or after <paramref name="timeout"/>; false then.
    /// </summary>
    public static async Task<bool> CollectAsync(int pid, Func<Task<bool>> collected, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var client = new DiagnosticsClient(pid);
        var providers = new[] { new EventPipeProvider(RuntimeProvider, EventLevel.Informational, GcKeyword | GcHeapCollectKeyword) };
        using var session = client.StartEventPipeSession(providers, requestRundown: false);
        // The runtime writes the session's events to this stream: keep it drained or the target blocks.
        var drain = session.EventStream.CopyToAsync(Stream.Null, cancellationToken);
        var deadline = DateTime.UtcNow + timeout;
        var done = false;
        while (!done && DateTime.UtcNow < deadline)
        {
            done = await collected();
            if (!done)
                await Task.Delay(100, cancellationToken);
        }
        await session.StopAsync(cancellationToken);
        try
        {
            await drain;
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or OperationCanceledException)
        {
            // The session is over; its stream ending is expected.
        }
        return done;
    }
}
