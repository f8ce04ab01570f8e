using LogsMigration.Api.Rollout;
using Microsoft.Extensions.Options;

namespace LogsMigration.Api.Streaming;

/// <summary>
/// Turns the server's stop into a drain: when <see cref="IHostApplicationLifetime.ApplicationStopping"/> fires
/// (SIGTERM), every open session is closed with <c>disconnected</c> (<c>reconnect: true</c>) and 1012, spread over
/// <see cref="StreamingOptions.ShutdownDrainWindow"/>, so a rolling deploy moves its clients without a thundering herd.
/// Kestrel waits for the sessions to end (up to the host's shutdown timeout, which <see cref="HostTimeout"/> makes
/// long enough) while the pipeline keeps serving them.
/// Behind a proxy, the server keeps listening until the drain is over (<see cref="StoppingAsync"/> runs before the
/// server stops): <c>/readyz</c> says <c>draining</c> (404, which HAProxy's <c>http-check disable-on-404</c> takes as
/// "no new viewers, keep the open ones"), new WebSockets get 503 before the upgrade (HAProxy retries them on another
/// instance), and the proxy never sees a refused connection that would mark the instance down and cut every session
/// at once (<c>on-marked-down shutdown-sessions</c>) before its moment in the window.
/// </summary>
internal sealed class ShutdownDrain(IHostApplicationLifetime lifetime, SessionRegistry sessions, SessionLimiter limiter, IOptions<StreamingOptions> options, TimeProvider time)
    : IHostedLifecycleService
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(100);
    private CancellationTokenRegistration _stopping;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _stopping = lifetime.ApplicationStopping.Register(() => sessions.DrainAllForShutdown(options.Value.ShutdownDrainWindow));
        return Task.CompletedTask;
    }

    /// <summary>
    /// Before the server stops listening: starts the drain (if the stop did not come through ApplicationStopping
    /// first) and waits until every session has ended, at most the window plus two close timeouts.
    /// </summary>
    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        var o = options.Value;
        sessions.DrainAllForShutdown(o.ShutdownDrainWindow);
        var deadline = o.ShutdownDrainWindow + 2 * o.CloseTimeout;
        var started = time.GetTimestamp();
        try
        {
            while (limiter.Open > 0 && time.GetElapsedTime(started) < deadline)
                await Task.Delay(PollInterval, time, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The host's shutdown timeout is over: the server stops now and aborts what is left.
        }
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        _stopping.Dispose();
        return Task.CompletedTask;
    }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>
    /// Raises <see cref="HostOptions.ShutdownTimeout"/> to the drain window, plus a pending send's grace and the close
    /// handshake (a <see cref="StreamingOptions.CloseTimeout"/> each), plus a margin for the rest of the stop. Read
    /// from the configuration directly: the options are validated at start, after the host has read its own.
    /// </summary>
    internal sealed class HostTimeout(IConfiguration configuration) : IConfigureOptions<HostOptions>
    {
        private static readonly TimeSpan Margin = TimeSpan.FromSeconds(5);

        public void Configure(HostOptions options)
        {
            var streaming = new StreamingOptions();
            configuration.GetSection(StreamingOptions.SectionName).Bind(streaming);
            var needed = Positive(streaming.ShutdownDrainWindow) + 2 * Positive(streaming.CloseTimeout) + Margin;
            if (options.ShutdownTimeout < needed)
                options.ShutdownTimeout = needed;
        }

        private static TimeSpan Positive(TimeSpan value) => value < TimeSpan.Zero ? TimeSpan.Zero : value;
    }
}
