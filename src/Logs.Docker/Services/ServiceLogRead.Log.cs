using LogsMigration.Pipeline.Model;
using Microsoft.Extensions.Logging;

namespace LogsMigration.Docker.Services;

internal sealed partial class ServiceLogRead
{
    [LoggerMessage(Level = LogLevel.Warning, Message = "Docker reported an error inside the log stream of {Key}; passed on as a marker that lines are missing: {DaemonMessage}")]
    private static partial void LogDaemonError(ILogger logger, StreamKey key, string daemonMessage);

    [LoggerMessage(Level = LogLevel.Information, Message = "Service of {Key} no longer exists; its log stream ends.")]
    private static partial void LogServiceGone(ILogger logger, StreamKey key);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Docker's read of {Key} without follow gave nothing for {Timeout}; reading it again, skipping each task's lines already given.")]
    private static partial void LogStalled(ILogger logger, StreamKey key, TimeSpan timeout);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Docker's read of {Key} without follow stalled {Times} times ({Timeout} each); it ends with a marker that lines may be missing.")]
    private static partial void LogStalledGaveUp(ILogger logger, StreamKey key, TimeSpan timeout, int times);
}
