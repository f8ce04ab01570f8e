namespace LogsMigration.Pipeline.Model;

/// <summary>
/// Identifies one shared upstream stream. It holds exactly what changes what the upstream sends
/// (host, kind of source, resolved resource id, which outputs) and nothing per client: two clients
/// that differ only in <c>tail</c>, <c>follow</c> or <c>timestamps</c> share one stream.
/// The old product keyed on the container alone, so the first client's options applied to everyone.
/// </summary>
/// <param name="HostId">Configured Docker host id.</param>
/// <param name="SourceType">Kind of source.</param>
/// <param name="ResourceId">Canonical resource id (a full container or service id, a stack name, a host id), never a user-typed alias.</param>
/// <param name="Streams">Outputs read.</param>
public sealed record StreamKey(string HostId, LogSourceType SourceType, string ResourceId, StreamSelection Streams = StreamSelection.Both)
{
    public override string ToString() => $"{HostId}/{SourceType.ToWire()}/{ResourceId}/{Streams}";
}
