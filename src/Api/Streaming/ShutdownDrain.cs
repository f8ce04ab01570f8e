using LogsMigration.Api.Rollout;
using Microsoft.Extensions.Options;

namespace LogsMigration.Api.Streaming;

/// <summary>
/// Turns the server's stop into a drain: when <see cref="IHostApplicationLifetime.ApplicationStopping"/> fires
/// (SIGTERM), every open session is closed with <c>disconnected</c> (<c>reconnect: true</c>) and 1012, spread over
/// <see cref="StreamingOptions.ShutdownDrainWindow"/>, so a rolling deploy moves its clients without a thundering herd.
/// Kestrel waits for the sessions to end (up to the host's shutdown timeout, which <see cref="HostTimeout"/> makes
/// long enough) while the pipeline keeps serving them.
/// </summary>
internal sealed class ShutdownDrain(IHostApplicationLifetime lifetime, SessionRegistry sessions, IOptions<StreamingOptions> options) : IHostedService
{
    private CancellationTokenRegistration _stopping;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _stopping = lifetime.ApplicationStopping.Register(() => sessions.DrainAllForShutdown(options.Value.ShutdownDrainWindow));
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        _stopping.Dispose();
        return Task.CompletedTask;
    }

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
