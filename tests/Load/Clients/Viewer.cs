using System.Diagnostics;
using System.Net.WebSockets;
using HdrHistogram;

namespace LogsMigration.Load.Clients;

/// <summary>How one viewer behaves.</summary>
/// <param name="Uri">The WebSocket URL, token and parameters included.</param>
/// <param name="Stream">The stream (container) it watches, for grouping.</param>
/// <param name="TargetLine">The line number after which it is done (the last line the writer prints); 0: never done, runs until stopped.</param>
/// <param name="PauseAfterLines">A slow viewer stops reading after this many lines…</param>
/// <param name="Pause">…for this long (then reads again, and should see gap markers for what it missed).</param>
/// <param name="ExpectedFirstLine">The first line it must get (1 when it attached before the writer started); 0 when any is fine (late joiners, churn).</param>
/// <param name="ReadDelay">A slow but reading viewer waits this long after every frame: it never stops, it just takes fewer lines than are written.</param>
internal sealed record ViewerPlan(Uri Uri, string Stream, long TargetLine, long ExpectedFirstLine = 0, long PauseAfterLines = 0, TimeSpan Pause = default,
    TimeSpan ReadDelay = default)
{
    public bool Slow => Pause > TimeSpan.Zero || ReadDelay > TimeSpan.Zero;

    /// <summary>
    /// A viewer that reconnects when its connection ends before its last line (the server went away), as a browser
    /// tab does: to this URL, given the resume point (<c>resume=…</c>: the last <c>cursor</c> it received, else
    /// <c>epoch:seq</c>, else null). Null: a connection that ends early is an error.
    /// </summary>
    public Func<string?, Uri>? ResumeUri { get; init; }

    /// <summary>How long a resuming viewer keeps trying to reconnect before it gives up (an error).</summary>
    public TimeSpan ReconnectWindow { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// A stack viewer: the stream merges this many writers, whose lines say which wrote them (<c>s=1…</c>), and each
    /// writer's numbers are checked on their own, from <see cref="ExpectedFirstLine"/> to <see cref="TargetLine"/>
    /// each. 0: one writer (a container), whose lines carry no member.
    /// </summary>
    public int Members { get; init; }
}

/// <summary>
/// One browser tab, as far as the server can tell: a WebSocket that reads frames and checks every line. Lines carry
/// their writer's counter (<c>n=…</c>), so the viewer counts what it lost (a jump with no gap marker to explain it),
/// what it got twice, and what the server told it it missed; and the line's <c>timestamp</c> (when Docker received
/// it, or when the raw generator made it) gives its delivery latency. A stack's stream interleaves several writers:
/// each line also names its writer (<c>s=…</c>), and every writer's counter is followed on its own.
/// </summary>
internal sealed class Viewer : IEntrySink
{
    /// <summary>Latencies are kept in microseconds up to two minutes, to 2 significant digits (1 %): small enough for thousands of viewers.</summary>
    public const long MaxLatencyMicros = 120_000_000;

    private readonly TaskCompletionSource _connected = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _stop = new();
    // Replaced when a resuming viewer reconnects; CloseAsync reads it from another thread.
    private volatile ClientWebSocket _socket = NewSocket();
    private HttpMessageInvoker? _invoker;
    private long _nowNanoseconds;
    private long _liveAfterNanoseconds;
    private Task _receiving = Task.CompletedTask;
    private bool _paused;
    private volatile bool _closing;
    private string? _lastControl;
    // One per writer of the stream: a container's one, or each member of a stack.
    private readonly WriterCount[] _writers;
    private int _writersDone;
    private long _lastStamp;

    public Viewer(int id, ViewerPlan plan)
    {
        Id = id;
        Plan = plan;
        _writers = new WriterCount[Math.Max(1, plan.Members)];
    }

    /// <summary>One writer's counter as this viewer saw it.</summary>
    private struct WriterCount
    {
        public long First, Last, FirstStamp, LastStamp;
    }

    private static ClientWebSocket NewSocket()
    {
        var socket = new ClientWebSocket();
        socket.Options.KeepAliveInterval = TimeSpan.Zero;
        return socket;
    }

    public int Id { get; }
    public ViewerPlan Plan { get; }
    public LongHistogram Latency { get; } = new(MaxLatencyMicros, 2);

    public string? Path { get; private set; }
    /// <summary>What answered a stack route (<c>connected.stack_kind</c>: <c>swarm</c> or <c>compose</c>).</summary>
    public string? StackKind { get; private set; }
    /// <summary>The instance that served the latest connection (<c>connected.instance</c>), behind a proxy.</summary>
    public string? Instance { get; private set; }
    public string? Error { get; private set; }
    public WebSocketCloseStatus? CloseStatus { get; private set; }
    /// <summary>The server did not complete the close handshake in time (the socket was then aborted).</summary>
    public bool CloseTimedOut { get; private set; }
    public long Frames { get; private set; }
    public long BatchFrames { get; private set; }
    /// <summary>Frames that carried at least one numbered line (not heartbeats, gap markers alone, notices or the end).</summary>
    public long LineFrames { get; private set; }
    public long Lines { get; private set; }
    /// <summary>The first and last numbers received of the (first) writer: the container's, or a stack's member 1.</summary>
    public long FirstLine => _writers[0].First;
    public long LastLine => _writers[0].Last;
    public long Duplicates { get; private set; }
    /// <summary>Lines skipped between two received lines (the writer's counter jumped).</summary>
    public long Skipped { get; private set; }
    public long GapMarkers { get; private set; }
    /// <summary>Lines the server said this viewer missed (sum of the gap markers' counts).</summary>
    public long GapMissed { get; private set; }
    public long UnknownEntries { get; private set; }
    /// <summary>Stack lines whose metadata names another member (or none) than the one the line says wrote it.</summary>
    public long Misattributed { get; private set; }
    /// <summary>Lines stamped earlier than the line before them (a stack merges its members in timestamp order, within a window).</summary>
    public long OutOfOrder { get; private set; }
    public long ConnectStarted { get; private set; }
    public long ConnectedAt { get; private set; }
    public long FirstLineAt { get; private set; }
    public long LastLineAt { get; private set; }
    /// <summary>Timestamps (Unix ns) carried by <see cref="FirstLine"/> and <see cref="LastLine"/>: the writer's achieved rate comes from them.</summary>
    public long FirstLineStamp => _writers[0].FirstStamp;
    public long LastLineStamp => _writers[0].LastStamp;
    /// <summary>The resume point of the last <c>log</c> frame (tracked by resuming viewers only).</summary>
    public string? LastCursor { get; private set; }
    public string? LastEpoch { get; private set; }
    public long LastSeq { get; private set; }
    /// <summary>Times a resuming viewer's connection ended early and it connected again; by what it resumed with.</summary>
    public int Reconnects { get; private set; }
    public int ResumedByCursor { get; private set; }
    public int ResumedBySequence { get; private set; }
    /// <summary>When the first new line arrived after the latest reconnect (0: none yet): a moved viewer's recovery.</summary>
    public long FirstLineAfterReconnectAt { get; private set; }
    private bool _awaitingLineAfterReconnect;
    /// <summary>How the last connection that ended early ended (close code and reason, or the receive error).</summary>
    public string? LastDisconnect { get; private set; }

    public bool IsConnected => _connected.Task.IsCompletedSuccessfully;
    public bool IsDone => _done.Task.IsCompleted;
    public Task Connected => _connected.Task;
    public Task Done => _done.Task;

    /// <summary>Time from starting to connect to the first line, in milliseconds; null before the first line.</summary>
    public double? TimeToFirstLineMs => FirstLineAt == 0 ? null : Stopwatch.GetElapsedTime(ConnectStarted, FirstLineAt).TotalMilliseconds;

    /// <summary>Lines missing before the first one received, each writer's, when the first is known (viewers attached before the writers started).</summary>
    public long MissedAtStart
    {
        get
        {
            long missed = 0;
            foreach (var writer in _writers)
                missed += Plan.ExpectedFirstLine > 0 && writer.First > Plan.ExpectedFirstLine ? writer.First - Plan.ExpectedFirstLine : 0;
            return missed;
        }
    }

    /// <summary>Lost: lines missing between its first expected line and its last received one that no gap marker explains.</summary>
    public long Lost => Math.Max(0, MissedAtStart + Skipped - GapMissed);

    /// <summary>Lines after the last one it got, up to the target, of every writer: not lost, still on their way when the run ended.</summary>
    public long Behind
    {
        get
        {
            if (Plan.TargetLine <= 0)
                return 0;
            long behind = 0;
            foreach (var writer in _writers)
            {
                behind += writer.First == 0 ? Plan.TargetLine - Math.Max(1, Plan.ExpectedFirstLine) + 1
                    : Math.Max(0, Plan.TargetLine - writer.Last);
            }
            return behind;
        }
    }

    /// <summary>A viewer that keeps up: reads normally, had no error, got its last line in time and was never told it fell behind.</summary>
    public bool KeptUp => !Plan.Slow && Error is null && GapMarkers == 0 && Behind == 0 && FirstLine > 0;

    /// <summary>Connects, then reads in the background until closed.</summary>
    public async Task ConnectAsync(HttpMessageInvoker invoker, CancellationToken cancellationToken)
    {
        ConnectStarted = Stopwatch.GetTimestamp();
        _invoker = invoker;
        // History lines (tail) were written before this viewer came: their age is not a delivery latency.
        _liveAfterNanoseconds = NowNanoseconds();
        try
        {
            await _socket.ConnectAsync(Plan.Uri, invoker, cancellationToken);
        }
        catch (Exception ex) when (ex is WebSocketException or HttpRequestException or OperationCanceledException or IOException)
        {
            Fail($"connect: {ex.GetBaseException().Message}");
            return;
        }
        _receiving = Task.Run(ReceiveAsync, CancellationToken.None);
    }

    /// <summary>Closes the socket (close handshake), aborting it if the server does not answer within <paramref name="timeout"/>.</summary>
    public async Task CloseAsync(TimeSpan timeout)
    {
        // From here on, the socket ending (or being aborted below) is this viewer's doing, not an error.
        _closing = true;
        await _stop.CancelAsync();
        try
        {
            if (_socket.State == WebSocketState.Open)
                await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None).WaitAsync(timeout);
            await _receiving.WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            CloseTimedOut = true;
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
        }
        _socket.Abort();
        await _receiving;
        _socket.Dispose();
        _stop.Dispose();
        _connected.TrySetResult();
        _done.TrySetResult();
    }

    private async Task ReceiveAsync()
    {
        while (!await ReceiveConnectionAsync() && await ReconnectAsync())
        {
        }
        _connected.TrySetResult();
        _done.TrySetResult();
    }

    /// <summary>Reads one connection until it ends; false when it ended early and this viewer resumes (reconnects).</summary>
    private async Task<bool> ReceiveConnectionAsync()
    {
        if (_closing)
        {
            // Reconnected while CloseAsync began: that socket is this viewer's to end.
            _socket.Abort();
            return true;
        }
        var buffer = new byte[16 * 1024];
        var filled = 0;
        try
        {
            while (true)
            {
                if (filled == buffer.Length)
                    Array.Resize(ref buffer, buffer.Length * 2);
                var result = await _socket.ReceiveAsync(buffer.AsMemory(filled), CancellationToken.None);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    CloseStatus = _socket.CloseStatus;
                    var early = !_closing && Plan.TargetLine > 0 && LastLine < Plan.TargetLine;
                    if (_socket.State == WebSocketState.CloseReceived)
                        await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
                    if (early && Plan.ResumeUri is not null)
                    {
                        LastDisconnect = $"closed by the server ({(int?)_socket.CloseStatus} {_socket.CloseStatusDescription})";
                        return false;
                    }
                    // The server ending a session before its last line is a finding, with its reason.
                    if (early)
                        Error ??= $"closed by the server ({(int?)_socket.CloseStatus} {_socket.CloseStatusDescription}) after {Lines} lines{(_lastControl is null ? "" : $", last frame: {_lastControl}")}";
                    return true;
                }
                filled += result.Count;
                if (!result.EndOfMessage)
                    continue;
                OnFrame(buffer.AsSpan(0, filled));
                filled = 0;
                if (_paused)
                {
                    _paused = false;
                    await Task.Delay(Plan.Pause);
                }
                if (Plan.ReadDelay > TimeSpan.Zero && !_closing)
                    await Task.Delay(Plan.ReadDelay);
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException or IOException)
        {
            if (_done.Task.IsCompleted || _closing)
                return true;
            if (Plan.ResumeUri is not null)
            {
                LastDisconnect = $"receive: {ex.GetBaseException().Message}";
                return false;
            }
            Error ??= $"receive: {ex.GetBaseException().Message}";
            return true;
        }
    }

    /// <summary>
    /// Connects again with the resume point of the last line received, trying until the server answers (it may be
    /// starting again) or the reconnect window has passed (an error). True when connected.
    /// </summary>
    private async Task<bool> ReconnectAsync()
    {
        var window = Stopwatch.StartNew();
        while (!_closing)
        {
            var resume = LastCursor ?? (LastEpoch is null ? null : FormattableString.Invariant($"{LastEpoch}:{LastSeq}"));
            var socket = NewSocket();
            try
            {
                using var attempt = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
                attempt.CancelAfter(TimeSpan.FromSeconds(5));
                await socket.ConnectAsync(Plan.ResumeUri!(resume), _invoker!, attempt.Token);
                var previous = _socket;
                _socket = socket;
                previous.Dispose();
                Reconnects++;
                FirstLineAfterReconnectAt = 0;
                _awaitingLineAfterReconnect = true;
                if (LastCursor is not null)
                    ResumedByCursor++;
                else
                    ResumedBySequence++;
                return true;
            }
            catch (Exception ex) when (ex is WebSocketException or HttpRequestException or OperationCanceledException or IOException)
            {
                socket.Dispose();
                if (window.Elapsed > Plan.ReconnectWindow)
                {
                    Error ??= $"could not reconnect within {Plan.ReconnectWindow.TotalSeconds:0} s ({LastDisconnect}; last attempt: {ex.GetBaseException().Message})";
                    return false;
                }
            }
            try
            {
                // The server is not listening yet (it is starting again): try again in a moment, as a browser does.
                await Task.Delay(TimeSpan.FromMilliseconds(100), _stop.Token);
            }
            catch (OperationCanceledException)
            {
                return false;
            }
        }
        return false;
    }

    private void OnFrame(ReadOnlySpan<byte> frame)
    {
        Frames++;
        switch (FrameParser.KindOf(frame))
        {
            case FrameKind.Batch:
                BatchFrames++;
                goto case FrameKind.Log;
            case FrameKind.Log:
                _nowNanoseconds = NowNanoseconds();
                var sink = new Sink(this);
                var linesBefore = Lines;
                FrameParser.VisitEntries(frame, ref sink);
                if (Lines > linesBefore)
                    LineFrames++;
                if (Plan.ResumeUri is not null)
                {
                    string? cursor = LastCursor, epoch = LastEpoch;
                    var seq = LastSeq;
                    FrameParser.ReadResumePoint(frame, ref cursor, ref epoch, ref seq);
                    (LastCursor, LastEpoch, LastSeq) = (cursor, epoch, seq);
                }
                break;
            case FrameKind.Connected:
                Path = FrameParser.StringField(frame, "path");
                StackKind = FrameParser.StringField(frame, "stack_kind");
                Instance = FrameParser.StringField(frame, "instance");
                ConnectedAt = Stopwatch.GetTimestamp();
                _connected.TrySetResult();
                break;
            case FrameKind.Error:
                Error ??= "error frame: " + (FrameParser.StringField(frame, "code") ?? "?");
                break;
            case FrameKind.Disconnected or FrameKind.Complete:
                _lastControl = System.Text.Encoding.UTF8.GetString(frame[..Math.Min(frame.Length, 200)]);
                break;
            case FrameKind.Unknown:
                UnknownEntries++;
                break;
        }
    }

    void IEntrySink.OnLine(long n, long timestampNanoseconds, long member, long attributedMember)
    {
        // A container's lines name no member; a stack's each name one of its members, 1…Members.
        if (Plan.Members == 0 ? member != 0 : member < 1 || member > Plan.Members)
        {
            UnknownEntries++;
            return;
        }
        if (member != attributedMember)
            Misattributed++;
        ref var writer = ref _writers[Plan.Members == 0 ? 0 : member - 1];
        Lines++;
        if (Lines == 1)
            FirstLineAt = Stopwatch.GetTimestamp();
        if (writer.First == 0)
        {
            writer.First = n;
            writer.FirstStamp = timestampNanoseconds;
        }
        else if (n <= writer.Last)
        {
            Duplicates++;
            return;
        }
        else if (n > writer.Last + 1)
        {
            Skipped += n - writer.Last - 1;
        }
        var reachedTarget = Plan.TargetLine > 0 && writer.Last < Plan.TargetLine && n >= Plan.TargetLine;
        writer.Last = n;
        writer.LastStamp = timestampNanoseconds;
        if (timestampNanoseconds < _lastStamp)
            OutOfOrder++;
        _lastStamp = timestampNanoseconds;
        LastLineAt = Stopwatch.GetTimestamp();
        if (_awaitingLineAfterReconnect)
        {
            _awaitingLineAfterReconnect = false;
            FirstLineAfterReconnectAt = LastLineAt;
        }
        if (timestampNanoseconds >= _liveAfterNanoseconds)
            Latency.RecordValue(Math.Clamp((_nowNanoseconds - timestampNanoseconds) / 1000, 1, MaxLatencyMicros));
        if (Plan.Slow && Lines == Plan.PauseAfterLines)
            _paused = true;
        // Done once every writer has reached the target (a stack viewer waits for each of its members).
        if (reachedTarget && ++_writersDone == _writers.Length)
            _done.TrySetResult();
    }

    void IEntrySink.OnGap(long missed)
    {
        GapMarkers++;
        GapMissed += Math.Max(0, missed);
    }

    void IEntrySink.OnUnknown() => UnknownEntries++;

    public void Fail(string error)
    {
        Error ??= error;
        _connected.TrySetResult();
        _done.TrySetResult();
    }

    private static long NowNanoseconds() => (DateTime.UtcNow.Ticks - DateTime.UnixEpoch.Ticks) * 100;

    /// <summary>The parser's callback, as a struct so the per-line path makes no allocation and no interface dispatch.</summary>
    private readonly struct Sink(Viewer viewer) : IEntrySink
    {
        public void OnLine(long n, long timestampNanoseconds, long member, long attributedMember) => ((IEntrySink)viewer).OnLine(n, timestampNanoseconds, member, attributedMember);
        public void OnGap(long missed) => ((IEntrySink)viewer).OnGap(missed);
        public void OnUnknown() => viewer.UnknownEntries++;
    }
}
