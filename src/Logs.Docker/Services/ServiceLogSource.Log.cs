using LogsMigration.Pipeline.Model;
using Microsoft.Extensions.Logging;

namespace LogsMigration.Docker.Services;

public sealed partial class ServiceLogSource
{
    [LoggerMessage(Level = LogLevel.Warning, Message = "Docker reported an error inside the log stream of {Key}, skipped as it is not a log line: {DaemonMessage}")]
    private static partial void LogDaemonError(ILogger logger, StreamKey key, string daemonMessage);
}
