using System.Diagnostics;
using System.Net.WebSockets;
using System.Threading.Tasks.Sources;
using LogsMigration.Api.Query;
using LogsMigration.Api.Rollout;
using LogsMigration.Pipeline.Observability;
using LogsMigration.Pipeline.Model;
using LogsMigration.Pipeline.Sources;
using LogsMigration.Pipeline.Streaming;
using LogsMigration.Pipeline.Wire;

namespace LogsMigration.Api.Streaming;

/// <summary>
/// The single writer of one WebSocket: drains the subscription into frames (shared pre-encoded bytes for lines),
/// sends a heartbeat when the stream is idle, and says how the session ended. One send at a time, as WebSocket requires.
/// While idle it waits on itself (<see cref="IValueTaskSource"/>): woken by lines (the subscription's queue signals it
/// directly, <see cref="LogSubscription.TryArmWake"/>), by its heartbeat timer or by cancellation, with no task or timer
/// allocated per wait and one hand-off to the thread pool per wake. With <c>format=batch</c> it lingers: a drain that would
/// start within <see cref="StreamingOptions.BatchLinger"/> of the previous one waits for the rest of it (on the same
/// wait), so a busy stream leaves in few large frames and a line after a quiet spell still goes at once.
/// </summary>
internal sealed class LogSessionSender(
    WebSocket socket,
    LogSubscription subscription,
    LogStreamRequest request,
    StreamingOptions options,
    TimeProvider time,
    LogMetrics metrics,
    LogPath path,
    long connectedTimestamp,
    SessionCancellation session) : IValueTaskSource, IThreadPoolWorkItem
{
    /// <summary>The outcome's reason when the session's cancellation ended it (the client left, a drain, the server's stop).</summary>
    public const string Cancelled = "cancelled";

    private readonly LogFrameFormat _format = request.Timestamps ? LogFrameFormat.JsonTimestamped : LogFrameFormat.Json;
    private readonly LogTimestamp _liveAfter = LogTimestamp.FromDateTimeOffset(time.GetUtcNow() - time.GetElapsedTime(connectedTimestamp));
    private readonly BatchFrameWriter? _batch = request.Batched ? new BatchFrameWriter(options.MaxBatchEntries, options.MaxBatchBytes) : null;
    private bool _sentFirstLine;

    private ref readonly TagList Tags => ref SessionTags.For(path, request.SourceType);

    private SentCounts _sent;
    private CancellationTokenSource? _sendTimeout;
    private LogEntry? _newestSent;
    private bool _sendTimedOut;
    // Completed only by Execute, on a thread-pool thread of its own (see Wake): the continuation runs there, unless the
    // sender had not yet registered it, which then queues it itself.
    private ManualResetValueTaskSourceCore<bool> _wake = new() { RunContinuationsAsynchronously = false };
    private int _armed;
    private int _ticked;
    private int _readable;
    private ITimer? _lingerTimer;
    private long _lastDrainStarted;

    /// <summary>
    /// Streams until the subscription ends, faults or is aborted, or <paramref name="cancellationToken"/> fires. The
    /// caller cancels <paramref name="cancellationToken"/> when the pipeline aborts the subscription too (one source
    /// per session rather than one linked here): an abort is told from the other causes by
    /// <see cref="LogSubscription.Aborted"/>.
    /// </summary>
    public async Task<SessionOutcome> RunAsync(CancellationToken cancellationToken)
    {
        try
        {
            await SendAllAsync(cancellationToken);
            // A stream that ends while the server stops ends because the server stops (its pipeline goes with the
            // host): the client should reconnect, not take it for the container's end.
            if (request.Follow && session.Stopping)
                return new SessionOutcome("server stopping", Refusal.Restarting);
            return request.Follow
                ? await EndAsync("disconnected", SessionFrames.Disconnected($"The {request.SourceType.ToWire()} stopped; the log stream has ended.", time.GetUtcNow()), cancellationToken)
                : await EndAsync("complete", SessionFrames.Complete("History sent; the stream is complete.", time.GetUtcNow()), cancellationToken);
        }
        catch (SubscriberStalledException ex)
        {
            metrics.ClientsStalled.Add(1, in Tags);
            return new SessionOutcome("stalled", new Refusal(ErrorCodes.SlowConsumer, ex.Message, CloseCodes.SlowConsumer));
        }
        catch (OperationCanceledException) when (subscription.Aborted.IsCancellationRequested)
        {
            metrics.ClientsStalled.Add(1, in Tags);
            return new SessionOutcome("stalled", new Refusal(ErrorCodes.SlowConsumer, "The client took no lines for too long and was disconnected.", CloseCodes.SlowConsumer));
        }
        catch (OperationCanceledException) when (_sendTimedOut)
        {
            // Before the cancellation's case: a frame still pending when a drain came may time out too, and the socket is gone.
            metrics.ClientsStalled.Add(1, in Tags);
            return new SessionOutcome("stalled", new Refusal(ErrorCodes.SlowConsumer, "The client did not take a frame for too long and was disconnected.", CloseCodes.SlowConsumer));
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The client left, or the server is stopping; the handler's close says "going away" to a client still there.
            return new SessionOutcome(Cancelled, new Refusal(ErrorCodes.ShuttingDown, "The session was closed.", CloseCodes.GoingAway));
        }
        catch (LogSourceException ex)
        {
            return new SessionOutcome($"upstream {ex.Kind}", Refusal.For(ex));
        }
        catch (WebSocketException)
        {
            return new SessionOutcome("socket error", null);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return new SessionOutcome("fault", Refusal.Internal) { Fault = ex };
        }
        finally
        {
            // Every send has completed or failed by now, so nothing reads the buffer any more.
            _batch?.Release();
        }
    }

    private async Task SendAllAsync(CancellationToken cancellationToken)
    {
        // Ticks every interval from the start, like a PeriodicTimer: a tick while lines flow is kept, and the heartbeat
        // goes as soon as the stream is idle again.
        using var heartbeat = time.CreateTimer(static state => ((LogSessionSender)state!).OnHeartbeat(), this, options.HeartbeatInterval, options.HeartbeatInterval);
        using var cancelled = cancellationToken.UnsafeRegister(static state => ((LogSessionSender)state!).Wake(), this);
        try
        {
            await SendLoopAsync(cancellationToken);
        }
        finally
        {
            _lingerTimer?.Dispose();
        }
    }

    private async Task SendLoopAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            await LingerAsync(cancellationToken);
            await SendQueuedAsync(cancellationToken);

            // Armed on the subscription itself: the next line (or the stream's end) signals this sender directly.
            Volatile.Write(ref _readable, 0);
            if (!subscription.TryArmWake(OnReadable, this))
            {
                // Something came since the drain, or the stream ended: the wait completes at once and says which.
                if (!await subscription.WaitToReadAsync(CancellationToken.None))
                    return;
                continue;
            }
            while (true)
            {
                await IdleAsync(cancellationToken);
                // Lines first, then cancellation, then the heartbeat: as the waits on both used to be observed.
                if (Volatile.Read(ref _readable) != 0)
                    break;
                cancellationToken.ThrowIfCancellationRequested();
                if (Interlocked.Exchange(ref _ticked, 0) != 0)
                    await SendAsync(SessionFrames.Heartbeat(time.GetUtcNow()), cancellationToken);
            }
            // Woken by a write or by the close: which one is known at once (no wait), and an ended stream says so now
            // rather than after a linger.
            if (!await subscription.WaitToReadAsync(CancellationToken.None))
                return;
        }
    }

    /// <summary>Completes when the subscription has something, a heartbeat is due or the session is cancelled.</summary>
    private ValueTask IdleAsync(CancellationToken cancellationToken)
    {
        _wake.Reset();
        Interlocked.Exchange(ref _armed, 1);
        // A wake that came before arming is seen here; one that comes after completes the source.
        if ((Volatile.Read(ref _readable) != 0 || Volatile.Read(ref _ticked) != 0 || cancellationToken.IsCancellationRequested)
            && Interlocked.Exchange(ref _armed, 0) != 0)
            return ValueTask.CompletedTask;
        return new ValueTask(this, _wake.Version);
    }

    /// <summary>
    /// With <c>format=batch</c>, waits until <see cref="StreamingOptions.BatchLinger"/> has passed since the previous
    /// drain that sent something began, so that the lines (and gap markers and notices, which keep their places in the
    /// queue) arriving meanwhile go together. Lines do not end the wait (that would be one wake per line); the
    /// session's end does, and so may a heartbeat tick (sending a little early is harmless). Nothing waits more than
    /// the linger: a full batch is split by <see cref="BatchFrameWriter"/> as before.
    /// </summary>
    private ValueTask LingerAsync(CancellationToken cancellationToken)
    {
        if (_batch is null || _lastDrainStarted == 0 || options.BatchLinger <= TimeSpan.Zero)
            return ValueTask.CompletedTask;
        var left = options.BatchLinger - time.GetElapsedTime(_lastDrainStarted);
        if (left <= TimeSpan.Zero)
            return ValueTask.CompletedTask;
        _wake.Reset();
        Interlocked.Exchange(ref _armed, 1);
        // Armed before the timer is set: a timer that fires at once completes the wait instead of being lost. One timer
        // per session, made on its first linger (an idle or line-frame session never holds one).
        if (_lingerTimer is null)
            _lingerTimer = time.CreateTimer(static state => ((LogSessionSender)state!).Wake(), this, left, Timeout.InfiniteTimeSpan);
        else
            _lingerTimer.Change(left, Timeout.InfiniteTimeSpan);
        if (cancellationToken.IsCancellationRequested && Interlocked.Exchange(ref _armed, 0) != 0)
            return ValueTask.CompletedTask;
        return new ValueTask(this, _wake.Version);
    }

    private void OnHeartbeat()
    {
        Interlocked.Exchange(ref _ticked, 1);
        Wake();
    }

    /// <summary>
    /// The subscription's wake: called once per arm, on the writer's thread under the queue's lock, so it only signals
    /// and cannot throw (<see cref="Wake"/> queues the sender only when it wins <c>_armed</c>). It has returned before
    /// the sender can arm again: the sender's next step, <see cref="LogSubscription.WaitToReadAsync"/>, takes the same
    /// lock. Every wait is won once (by the sender's own check or by one waker), so a finished sender has <c>_armed</c>
    /// at 0 and a late callback of any waker does nothing.
    /// </summary>
    private static readonly Action<object?> OnReadable = static state =>
    {
        var sender = (LogSessionSender)state!;
        Volatile.Write(ref sender._readable, 1);
        sender.Wake();
    };

    /// <summary>
    /// Resumes the waiting sender, once per wait (the caller that wins <c>_armed</c>), on a thread-pool thread taken
    /// from the pool's global queue: never inline on the waker's thread (a queue's writer under its lock, a timer, a
    /// <c>Cancel()</c> caller), and not on the waker's local queue either. A wake completed with the continuations run
    /// asynchronously lands on the waker's local queue, where a broadcast offering a chunk to a hundred queues holds a
    /// hundred senders behind it: run in turns with the code before the direct wake at saturation (100 viewers × 10,000
    /// lines/s, line frames), that cost a quarter to a third of the deliveries in three pairs of runs out of three;
    /// from the global queue, three pairs gave about as many deliveries as that code or more (docs/benchmarks/analysis.md).
    /// </summary>
    private void Wake()
    {
        if (Interlocked.Exchange(ref _armed, 0) != 0)
            ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
    }

    void IThreadPoolWorkItem.Execute() => _wake.SetResult(true);

    void IValueTaskSource.GetResult(short token) => _wake.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource.GetStatus(short token) => _wake.GetStatus(token);

    void IValueTaskSource.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _wake.OnCompleted(continuation, state, token, flags);

    /// <summary>
    /// Sends everything queued, one frame per event (or, with <c>format=batch</c>, consecutive lines gathered into
    /// batch frames), and records the batch's metrics once: this is the per-line, per-client path.
    /// </summary>
    private async Task SendQueuedAsync(CancellationToken cancellationToken)
    {
        _sent = default;
        var started = time.GetTimestamp();
        while (subscription.TryRead(out var streamEvent))
        {
            if (streamEvent.Kind == StreamEventKind.Entry)
            {
                var entry = streamEvent.Entry!;
                var frame = streamEvent.Matches is { } matches ? QueryFrames.WithMatches(entry, _format, matches, subscription.Filter?.MaxMatches ?? matches.Length) : entry.GetFrame(_format);
                if (_batch is null)
                {
                    await SendAsync(frame, cancellationToken);
                    RecordDelivery(entry);
                    _sent.Entries++;
                }
                else if (_batch.Add(entry, frame))
                {
                    await FlushBatchAsync(cancellationToken);
                }
                continue;
            }
            // Anything that is not a line keeps its place: lines gathered before it go first.
            await FlushBatchAsync(cancellationToken);
            if (streamEvent.Kind == StreamEventKind.Gap)
            {
                await SendAsync(SessionFrames.Gap(subscription.Key, streamEvent.Missed, streamEvent.GapReason, time.GetUtcNow(), streamEvent.Entry?.Text,
                    countsAllLines: subscription.Filter is not null), cancellationToken);
                metrics.GapsSent.Add(1, in Tags);
                if (streamEvent.GapReason == GapReason.SlowSubscriber)
                    metrics.EntriesDropped.Add(streamEvent.Missed, in Tags);
            }
            else
            {
                await SendAsync(SessionFrames.Notice(subscription.Key, streamEvent.Notice!.Kind, streamEvent.Notice.Message, time.GetUtcNow()), cancellationToken);
            }
        }
        await FlushBatchAsync(cancellationToken);
        // The queue is drained: an idle session keeps no batch buffer.
        _batch?.Release();
        if (_sent.Frames == 0)
            return;
        _lastDrainStarted = started;
        metrics.FramesSent.Add(_sent.Frames, in Tags);
        metrics.EntriesSent.Add(_sent.Entries, in Tags);
        metrics.BytesSent.Add(_sent.Bytes, in Tags);
        metrics.SendDuration.Record(time.GetElapsedTime(started).TotalSeconds, in Tags);
        RecordLatency();
    }

    private async Task FlushBatchAsync(CancellationToken cancellationToken)
    {
        if (_batch is null || _batch.Count == 0)
            return;
        await SendAsync(_batch.Complete(), cancellationToken);
        // Every line of the batch went in this one frame: the newest stands for them all in the delivery metrics.
        RecordDelivery(_batch.Newest!);
        _sent.Entries += _batch.Count;
        _batch.Clear();
    }

    /// <summary>
    /// Notes a line sent. Latency is recorded once per drain of the queue, for its newest line (the per-line,
    /// per-client path stays free of clock reads and histogram updates); history lines are old by definition, so
    /// only lines written after the client connected count.
    /// </summary>
    private void RecordDelivery(LogEntry entry)
    {
        if (!_sentFirstLine)
        {
            _sentFirstLine = true;
            metrics.FirstLine.Record(time.GetElapsedTime(connectedTimestamp).TotalSeconds, in Tags);
            if (subscription.SubscribedTimestamp != 0)
            {
                // From asking the pipeline to the first line: for a late joiner, the replay buffer's part alone.
                var tags = Tags;
                tags.Add("origin", subscription.HistoryOrigin.ToWire());
                metrics.SubscribedFirstLine.Record(time.GetElapsedTime(subscription.SubscribedTimestamp).TotalSeconds, in tags);
            }
        }
        _newestSent = entry;
    }

    private void RecordLatency()
    {
        if (_newestSent is { } entry && entry.Timestamp > _liveAfter)
            metrics.DeliveryLatency.Record((time.GetUtcNow() - entry.Timestamp.ToDateTimeOffset()).TotalSeconds, in Tags);
        _newestSent = null;
    }

    private async Task<SessionOutcome> EndAsync(string reason, byte[] frame, CancellationToken cancellationToken)
    {
        await SendAsync(frame, cancellationToken);
        return new SessionOutcome(reason, new Refusal(null, reason == "complete" ? "History sent." : "Stream ended.", CloseCodes.Normal));
    }

    /// <summary>
    /// One frame. It is sent with <see cref="CancellationToken.None"/>: ManagedWebSocket writes a frame synchronously
    /// only when the send cannot be cancelled (a cancellable send always takes its async path and registers with the
    /// token), and this is the per-line, per-client path. A send that does not complete at once is watched instead:
    /// it is given <see cref="StreamingOptions.SendTimeout"/> (a client that stops reading, its TCP window shut, would
    /// otherwise hold its session, and on the legacy path its upstream, forever), and the end of the session aborts it.
    /// Aborting the socket is all that can be done with such a client.
    /// </summary>
    private async ValueTask SendAsync(ReadOnlyMemory<byte> frame, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        _sent.Frames++;
        _sent.Bytes += frame.Length;
        var send = socket.SendAsync(frame, WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None);
        if (send.IsCompletedSuccessfully)
        {
            send.GetAwaiter().GetResult();
            return;
        }
        _sendTimeout ??= new CancellationTokenSource();
        // Armed before the registrations: a drain that is already there shortens it, and must not be overwritten.
        _sendTimeout.CancelAfter(options.SendTimeout);
        await using var timedOut = _sendTimeout.Token.Register(AbortSocket, this);
        await using var ended = cancellationToken.Register(EndDuringSend, this);
        try
        {
            await send;
        }
        catch (Exception) when (_sendTimeout.IsCancellationRequested)
        {
            _sendTimedOut = true;
            throw new OperationCanceledException("The client did not take the frame in time.");
        }
        catch (Exception ex) when (ex is not OperationCanceledException && cancellationToken.IsCancellationRequested)
        {
            // The session ended while the frame waited: report it as the end of the session, as a cancellable send would.
            throw new OperationCanceledException("The session ended while a frame was being sent.", ex, cancellationToken);
        }
        // Kestrel may end a write pending on an aborted connection without an error: the frame never left.
        if (_sendTimeout.IsCancellationRequested)
        {
            _sendTimedOut = true;
            throw new OperationCanceledException("The client did not take the frame in time.");
        }
        if (!_sendTimeout.TryReset())
            _sendTimeout = null;
    }

    private static readonly Action<object?> AbortSocket = static state => ((LogSessionSender)state!).AbortFromServer();

    private static readonly Action<object?> EndDuringSend = static state => ((LogSessionSender)state!).OnEndDuringSend();

    private void AbortFromServer() => session.Abort(socket, byServer: true);

    /// <summary>
    /// The session ended while a frame was pending. A drain (or the server's stop) closes with 1012, so the frame
    /// gets <see cref="StreamingOptions.CloseTimeout"/> to finish instead of the socket being aborted under it; a
    /// client that left has nothing to wait for, and a stalled one would not take it.
    /// </summary>
    private void OnEndDuringSend()
    {
        if (session.Drained && !session.ClientClosed)
        {
            try
            {
                if (options.CloseTimeout < options.SendTimeout)
                    _sendTimeout?.CancelAfter(options.CloseTimeout);
            }
            catch (ObjectDisposedException)
            {
            }
            return;
        }
        session.Abort(socket, byServer: !session.ClientClosed);
    }

    /// <summary>What one drain of the queue sent, recorded once.</summary>
    private struct SentCounts
    {
        public long Frames;
        public long Entries;
        public long Bytes;
    }
}

/// <summary>Why a session ended (for the log) and how to close it (null: the socket is already gone).</summary>
internal sealed record SessionOutcome(string Reason, Refusal? Refusal)
{
    /// <summary>An unexpected exception that ended the session, for the server's log.</summary>
    public Exception? Fault { get; init; }
}
