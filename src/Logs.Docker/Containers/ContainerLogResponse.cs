using System.Runtime.CompilerServices;
using Docker.DotNet;

namespace LogsMigration.Docker.Containers;

/// <summary>
/// The raw body of a container's logs response. Docker.DotNet.Enhanced (4.3.3) gives a service's logs as the raw
/// response stream (<c>GetServiceLogsAsync(id, parameters)</c>) but a container's only wrapped in its
/// <see cref="MultiplexedStream"/>, whose frame reader throws <c>IOException("Unknown stream type: '3'")</c> on
/// Docker's system-error frame ("Error grabbing logs: …") and so loses the daemon's message, and which hides where
/// frames end. The wrapper reads nothing until asked, so the body under it is still at its first byte and is read
/// with the project's <see cref="Reading.DockerStreamDemultiplexer"/> instead. The field is the library's own: an
/// upgrade that renames it fails the first container read loudly (<see cref="MissingFieldException"/>), never
/// silently, and every container test reads through here. A host-log reader's attach stream (also a
/// <see cref="MultiplexedStream"/>) is read the same way.
/// </summary>
internal static class ContainerLogResponse
{
    public static Stream Body(MultiplexedStream stream) => WrappedStream(stream);

    [UnsafeAccessor(UnsafeAccessorKind.Field, Name = "_stream")]
    private static extern ref Stream WrappedStream(MultiplexedStream stream);
}
