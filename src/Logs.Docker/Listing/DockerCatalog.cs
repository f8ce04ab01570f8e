using System.Globalization;
using Docker.DotNet;
using Docker.DotNet.Models;
using LogsMigration.Pipeline.Sources;
using Microsoft.Extensions.Options;

namespace LogsMigration.Docker.Listing;

/// <summary>
/// What can be watched on each configured host: its containers, services and stacks, read from the daemon on every
/// call (a listing is cheap and must not lag behind <c>docker ps</c>). Failures are <see cref="LogSourceException"/>s:
/// NotFound for an unknown host, Unavailable for a host that does not answer within <see cref="ListingOptions.HostTimeout"/>.
/// </summary>
public sealed class DockerCatalog(DockerHosts hosts, IOptions<ListingOptions> options)
{
    private readonly ListingOptions _options = options.Value;

    /// <summary>Every configured host, asked in parallel; a host that does not answer is listed as not reachable.</summary>
    public async Task<IReadOnlyList<HostSummary>> ListHostsAsync(CancellationToken cancellationToken)
    {
        var rows = await Task.WhenAll(hosts.HostIds.Order(StringComparer.Ordinal).Select(id => DescribeAsync(id, cancellationToken))).ConfigureAwait(false);
        return rows;
    }

    /// <summary>All containers of a host, running or not (<c>docker ps -a</c>), by name.</summary>
    public Task<IReadOnlyList<ContainerSummary>> ListContainersAsync(string hostId, CancellationToken cancellationToken) =>
        CallAsync(hostId, async (client, ct) =>
        {
            var listed = await client.Containers.ListContainersAsync(new ContainersListParameters { All = true }, ct).ConfigureAwait(false);
            var rows = new ContainerSummary?[listed.Count];
            await Parallel.ForEachAsync(Enumerable.Range(0, listed.Count),
                new ParallelOptions { MaxDegreeOfParallelism = _options.InspectConcurrency, CancellationToken = ct },
                async (i, token) => rows[i] = await SummarizeAsync(client, listed[i], token).ConfigureAwait(false)).ConfigureAwait(false);
            return (IReadOnlyList<ContainerSummary>)rows.OfType<ContainerSummary>().OrderBy(c => c.Name, StringComparer.Ordinal).ToList();
        }, cancellationToken);

    /// <summary>The Swarm services of a manager (<c>docker service ls</c>), by name; empty on a worker or outside a swarm.</summary>
    public Task<SwarmListing<ServiceSummary>> ListServicesAsync(string hostId, CancellationToken cancellationToken) =>
        CallAsync(hostId, async (client, ct) =>
        {
            var role = await RoleAsync(client, ct).ConfigureAwait(false);
            if (role != SwarmRole.Manager)
                return new SwarmListing<ServiceSummary>(role, []);
            var services = await client.Swarm.ListServicesAsync(new ServiceListParameters { Status = true }, ct).ConfigureAwait(false);
            return new SwarmListing<ServiceSummary>(role, services.Select(Summarize).OrderBy(s => s.Name, StringComparer.Ordinal).ToList());
        }, cancellationToken);

    /// <summary>
    /// The Swarm stacks of a manager (as <c>docker stack ls</c>) and the compose projects of the host's containers, by
    /// name. A worker or a host outside any swarm has only compose projects; the role says why.
    /// </summary>
    public Task<SwarmListing<StackSummary>> ListStacksAsync(string hostId, CancellationToken cancellationToken) =>
        CallAsync(hostId, async (client, ct) =>
        {
            var role = await RoleAsync(client, ct).ConfigureAwait(false);
            var stacks = new List<StackSummary>();
            if (role == SwarmRole.Manager)
            {
                var services = await client.Swarm.ListServicesAsync(new ServiceListParameters(), ct).ConfigureAwait(false);
                stacks.AddRange(Group(services.Select(s => (DockerLabels.Get(s.Spec?.Labels, DockerLabels.StackNamespace), s.Spec?.Name)), StackSummary.SwarmKind));
            }
            var containers = await client.Containers.ListContainersAsync(new ContainersListParameters { All = true }, ct).ConfigureAwait(false);
            stacks.AddRange(Group(containers.Select(c => (DockerLabels.Get(c.Labels, DockerLabels.ComposeProject), DockerLabels.Get(c.Labels, DockerLabels.ComposeService))), StackSummary.ComposeKind));
            return new SwarmListing<StackSummary>(role, stacks.OrderBy(s => s.Name, StringComparer.Ordinal).ThenBy(s => s.Kind, StringComparer.Ordinal).ToList());
        }, cancellationToken);

    private async Task<HostSummary> DescribeAsync(string hostId, CancellationToken cancellationToken)
    {
        try
        {
            return await CallAsync(hostId, async (client, ct) =>
            {
                var version = await client.System.GetVersionAsync(ct).ConfigureAwait(false);
                var role = await RoleAsync(client, ct).ConfigureAwait(false);
                return new HostSummary(hostId, true, version.Version, role, null);
            }, cancellationToken).ConfigureAwait(false);
        }
        catch (LogSourceException ex)
        {
            return new HostSummary(hostId, false, null, SwarmRole.None, ex.Message);
        }
    }

    private static async Task<string> RoleAsync(DockerClient client, CancellationToken cancellationToken)
    {
        var info = await client.System.GetSystemInfoAsync(cancellationToken).ConfigureAwait(false);
        return SwarmRole.Of(info.Swarm?.LocalNodeState, info.Swarm?.ControlAvailable ?? false);
    }

    /// <summary>One host's calls under the listing deadline, their failures as the protocol's kinds.</summary>
    private async Task<T> CallAsync<T>(string hostId, Func<DockerClient, CancellationToken, Task<T>> call, CancellationToken cancellationToken)
    {
        var client = hosts.GetClient(hostId);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(_options.HostTimeout);
        try
        {
            return await DockerErrors.GuardAsync(hostId,
                ex => new LogSourceException(LogSourceErrorKind.Failed, DockerErrors.DaemonMessage(ex), ex),
                () => call(client, deadline.Token), deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw new LogSourceException(LogSourceErrorKind.Unavailable, $"Docker host '{hostId}' did not answer within {_options.HostTimeout.TotalSeconds:0.#} s.", ex);
        }
    }

    /// <summary>The list has no start time: inspect. A container removed in between is left out, as it is gone.</summary>
    private static async Task<ContainerSummary?> SummarizeAsync(DockerClient client, ContainerListResponse listed, CancellationToken cancellationToken)
    {
        DateTimeOffset? startedAt;
        try
        {
            var inspected = await client.Containers.InspectContainerAsync(listed.ID, cancellationToken).ConfigureAwait(false);
            startedAt = ParseStartedAt(inspected.State?.StartedAt);
        }
        catch (DockerContainerNotFoundException)
        {
            return null;
        }
        var labels = listed.Labels;
        return new ContainerSummary(
            listed.ID,
            listed.Names?.FirstOrDefault()?.TrimStart('/') ?? listed.ID,
            listed.State ?? "unknown",
            listed.Image ?? "",
            startedAt,
            DockerLabels.Get(labels, DockerLabels.ComposeProject),
            DockerLabels.Get(labels, DockerLabels.StackNamespace),
            DockerLabels.Get(labels, DockerLabels.SwarmServiceName) ?? DockerLabels.Get(labels, DockerLabels.ComposeService),
            DockerLabels.Get(labels, DockerLabels.SwarmTaskId));
    }

    // Docker writes 0001-01-01T00:00:00Z for a container that never started.
    private static DateTimeOffset? ParseStartedAt(string? value) =>
        DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at) && at.Year > 1 ? at.ToUniversalTime() : null;

    private static ServiceSummary Summarize(SwarmService service) => new(
        service.ID,
        service.Spec?.Name ?? service.ID,
        service.ServiceStatus?.RunningTasks ?? 0,
        service.ServiceStatus?.DesiredTasks ?? 0,
        DockerLabels.Get(service.Spec?.Labels, DockerLabels.StackNamespace));

    private static IEnumerable<StackSummary> Group(IEnumerable<(string? Stack, string? Service)> members, string kind) =>
        members.Where(m => m.Stack is not null)
            .GroupBy(m => m.Stack!, StringComparer.Ordinal)
            .Select(g => new StackSummary(g.Key, kind, g.Select(m => m.Service).OfType<string>().Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList()));
}
