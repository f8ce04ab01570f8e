using System.Collections.Frozen;
using System.Globalization;
using Docker.DotNet;
using Docker.DotNet.Models;
using LogsMigration.Pipeline.Sources;
using Microsoft.Extensions.Logging;

namespace LogsMigration.Docker.Services;

/// <summary>
/// Who wrote a service line: the metadata of each task (replica slot, task name), from one task listing per
/// service, listed again when a task shows up that it does not know (a replica added or replaced while streaming).
/// One metadata dictionary per task, shared by all of that task's lines.
/// </summary>
internal sealed partial class ServiceTaskDirectory
{
    public const string NodeIdMetadata = "node_id";
    public const string ServiceIdMetadata = "service_id";
    public const string TaskIdMetadata = "task_id";
    public const string ServiceNameMetadata = "service_name";
    public const string ReplicaMetadata = "replica";
    public const string TaskNameMetadata = "task_name";

    /// <summary>Tasks remembered at most; a long-lived service replacing tasks forever starts over beyond it.</summary>
    private const int MaxCachedTasks = 4096;

    private readonly DockerClient _client;
    private readonly string _hostId;
    private readonly string _serviceId;
    private readonly string _serviceName;
    private readonly ILogger _logger;
    private readonly Dictionary<string, FrozenDictionary<string, string>> _byDetails = new(StringComparer.Ordinal);
    private Dictionary<string, TaskResponse> _tasks = new(StringComparer.Ordinal);
    private readonly Action<Dictionary<string, string>>? _decorate;
    private FrozenDictionary<string, string>? _serviceOnly;

    /// <param name="decorate">Adds what a caller knows of every task's lines (a stack's partition), once per task.</param>
    public ServiceTaskDirectory(DockerClient client, string hostId, string serviceId, string serviceName, ILogger logger, Action<Dictionary<string, string>>? decorate = null)
    {
        _client = client;
        _hostId = hostId;
        _serviceId = serviceId;
        _serviceName = serviceName;
        _logger = logger;
        _decorate = decorate;
    }

    /// <summary>Lists the service's tasks. A failure costs only the replica numbers, never the stream: it is logged.</summary>
    public async Task RefreshAsync(CancellationToken cancellationToken)
    {
        var parameters = new TasksListParameters
        {
            Filters = new Dictionary<string, IDictionary<string, bool>> { ["service"] = new Dictionary<string, bool> { [_serviceId] = true } },
        };
        try
        {
            var tasks = await DockerErrors.GuardAsync(_hostId,
                ex => new LogSourceException(LogSourceErrorKind.Failed, DockerErrors.DaemonMessage(ex), ex),
                () => _client.Tasks.ListAsync(parameters, cancellationToken), cancellationToken).ConfigureAwait(false);
            _tasks = tasks.Where(t => t.ID is not null).ToDictionary(t => t.ID, StringComparer.Ordinal);
        }
        catch (LogSourceException ex)
        {
            LogTaskListingFailed(_logger, _serviceId, ex.Message);
        }
    }

    /// <summary>The metadata of the task that wrote a line with these details.</summary>
    public async ValueTask<IReadOnlyDictionary<string, string>> GetMetadataAsync(string? details, CancellationToken cancellationToken)
    {
        if (details is null)
            return _serviceOnly ??= Build(default, task: null);
        if (_byDetails.TryGetValue(details, out var known))
            return known;
        var parsed = SwarmDetails.Parse(details);
        if (parsed.TaskId is { } taskId && !_tasks.ContainsKey(taskId))
            await RefreshAsync(cancellationToken).ConfigureAwait(false);
        // Cached even when the listing did not know the task, so a task that vanished costs one listing, not one per line.
        if (_byDetails.Count >= MaxCachedTasks)
            _byDetails.Clear();
        var metadata = Build(parsed, parsed.TaskId is null ? null : _tasks.GetValueOrDefault(parsed.TaskId));
        _byDetails[details] = metadata;
        return metadata;
    }

    private FrozenDictionary<string, string> Build(SwarmDetails details, TaskResponse? task)
    {
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [ServiceIdMetadata] = details.ServiceId ?? _serviceId,
            [ServiceNameMetadata] = _serviceName,
        };
        if ((details.NodeId ?? task?.NodeID) is { Length: > 0 } node)
            metadata[NodeIdMetadata] = node;
        if (details.TaskId is { } taskId)
        {
            metadata[TaskIdMetadata] = taskId;
            // Docker names a task <service>.<slot>.<task id>, or <service>.<node id>.<task id> for a global service.
            if (task?.Slot is { } slot)
            {
                var replica = slot.ToString(CultureInfo.InvariantCulture);
                metadata[ReplicaMetadata] = replica;
                metadata[TaskNameMetadata] = $"{_serviceName}.{replica}.{taskId}";
            }
            else if (task is not null && (details.NodeId ?? task.NodeID) is { Length: > 0 } taskNode)
            {
                metadata[TaskNameMetadata] = $"{_serviceName}.{taskNode}.{taskId}";
            }
        }
        _decorate?.Invoke(metadata);
        return metadata.ToFrozenDictionary(StringComparer.Ordinal);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not list the tasks of service {ServiceId}; its lines carry no replica number for now: {Reason}")]
    private static partial void LogTaskListingFailed(ILogger logger, string serviceId, string reason);
}
