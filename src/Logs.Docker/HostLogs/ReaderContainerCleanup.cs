using Docker.DotNet.Models;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace LogsMigration.Docker.HostLogs;

/// <summary>
/// At start-up, removes the log reader containers this instance left on its hosts when it last stopped without
/// tearing them down (a crash, a kill). Runs in the background: a host that is down delays nothing and is skipped.
/// "This instance" is <see cref="HostLogOptions.EffectiveReaderOwner"/>: several instances on one machine each need
/// their own (<c>Streaming:InstanceId</c>), or each one's start-up would remove the others' live readers.
/// </summary>
internal sealed partial class ReaderContainerCleanup(DockerHosts hosts, IOptions<DockerOptions> options, ILogger<ReaderContainerCleanup> logger) : BackgroundService
{
    private readonly string _owner = options.Value.HostLogs.EffectiveReaderOwner;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        foreach (var hostId in hosts.HostIds)
        {
            try
            {
                var removed = await RemoveStaleAsync(hosts, hostId, _owner, stoppingToken).ConfigureAwait(false);
                if (removed > 0)
                    LogRemoved(logger, removed, hostId);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogSkipped(logger, hostId, ex.Message);
            }
        }
    }

    /// <summary>Removes the readers of <paramref name="owner"/>'s earlier runs on one host; returns how many.</summary>
    public static async Task<int> RemoveStaleAsync(DockerHosts hosts, string hostId, string owner, CancellationToken cancellationToken)
    {
        var client = hosts.GetClient(hostId);
        var stale = await client.Containers.ListContainersAsync(new ContainersListParameters
        {
            All = true,
            Filters = new Dictionary<string, IDictionary<string, bool>>
            {
                ["label"] = new Dictionary<string, bool> { [$"{ReaderContainer.OwnerLabel}={owner}"] = true },
            },
        }, cancellationToken).ConfigureAwait(false);
        var removed = 0;
        foreach (var container in stale.Where(c => c.Labels is null || !c.Labels.TryGetValue(ReaderContainer.RunLabel, out var run) || run != ReaderContainer.Run))
        {
            await ReaderContainer.RemoveAsync(client, container.ID).ConfigureAwait(false);
            removed++;
        }
        return removed;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Removed {Count} log reader containers left on host {HostId} by an earlier run.")]
    private static partial void LogRemoved(ILogger logger, int count, string hostId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not look for leftover log reader containers on host {HostId}: {Reason}")]
    private static partial void LogSkipped(ILogger logger, string hostId, string reason);
}
