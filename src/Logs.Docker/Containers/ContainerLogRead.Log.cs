using LogsMigration.Pipeline.Model;
using Microsoft.Extensions.Logging;

namespace LogsMigration.Docker.Containers;

internal sealed partial class ContainerLogRead
{
    [LoggerMessage(Level = LogLevel.Warning, Message = "Docker reported an error inside the log stream of {Key}; the read fails with it: {DaemonMessage}")]
    private static partial void LogDaemonError(ILogger logger, StreamKey key, string daemonMessage);

    [LoggerMessage(Level = LogLevel.Information, Message = "Container of {Key} runs again; reopening its logs from {Since}.")]
    private static partial void LogReopening(ILogger logger, StreamKey key, string since);

    [LoggerMessage(Level = LogLevel.Information, Message = "Container of {Key} was removed; its log stream ends.")]
    private static partial void LogContainerRemoved(ILogger logger, StreamKey key);

    [LoggerMessage(Level = LogLevel.Information, Message = "Container of {Key} stopped and did not start again within {Grace}; its log stream ends.")]
    private static partial void LogContainerStopped(ILogger logger, StreamKey key, TimeSpan grace);
}
