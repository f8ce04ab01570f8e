using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.WebSockets;
using System.Threading.Channels;
using LogsMigration.Load.Infra;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace LogsMigration.Load.Raw;

/// <summary>
/// The raw ceiling: a minimal Kestrel broadcaster and nothing else. A generator makes numbered lines at a set rate
/// and serialises each once; every client has a bounded queue (dropping its oldest, counted and reported as a gap
/// marker, like the service) and one sender. With <c>format=batch</c> the sender gathers what is queued into one
/// <c>batch</c> frame within the same bounds as the service. No Docker, no pipeline, no auth: the upper bound the
/// service is judged against, on the same machine and at the same settings.
/// </summary>
internal static class RawBroadcaster
{
    private static readonly byte[] BatchHeader = """{"type":"batch","entries":["""u8.ToArray();

    public static async Task<int> RunAsync(string[] args)
    {
        var (port, settings) = RawServerSettings.Parse(args);
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, port));
        builder.Logging.ClearProviders();
        var app = builder.Build();
        app.UseWebSockets();
        var streams = new ConcurrentDictionary<string, RawStream>();
        RawStream Stream(string name) => streams.GetOrAdd(name, static n => new RawStream(n));

        app.MapGet("/healthz", () => Results.Ok());
        app.MapPost("/go/{stream}", (string stream, int rate, long lines, int? padding, IHostApplicationLifetime life) =>
        {
            Stream(stream).Start(rate, lines, padding ?? 1, life.ApplicationStopping);
            return Results.Accepted();
        });
        // raw+docker: one Docker follow of the container feeds the stream instead of the generator. Answers once dockerd
        // has answered the follow, so the harness starts the writer only when the follow is open.
        // The server is shared across runs: each follow has its own stop, which the harness pulls when its run ends
        // (a failed run's follow would otherwise read until the server stops), and a new follow of a stream ends the old.
        var follows = new ConcurrentDictionary<string, CancellationTokenSource>();
        void StopFollow(string stream)
        {
            if (follows.TryRemove(stream, out var stop))
            {
                stop.Cancel();
                stop.Dispose();
            }
        }
        app.MapPost("/follow/{stream}", async (string stream, string socket, long last, IHostApplicationLifetime life) =>
        {
            StopFollow(stream);
            var stop = CancellationTokenSource.CreateLinkedTokenSource(life.ApplicationStopping);
            follows[stream] = stop;
            await DockerFollow.StartAsync(socket, stream, last, Stream(stream).Broadcast, stop.Token);
            return Results.Accepted();
        });
        app.MapDelete("/follow/{stream}", (string stream) =>
        {
            StopFollow(stream);
            return Results.NoContent();
        });
        // The two runtime figures the idle-memory scenario reads from the service's /metrics, under the same names.
        app.MapGet("/metrics", () => Results.Text(
            $"dotnet_gc_collections_total{{gc_heap_generation=\"gen2\"}} {GC.CollectionCount(2)}\n" +
            $"dotnet_gc_last_collection_heap_size_bytes {GC.GetGCMemoryInfo().HeapSizeBytes}\n"));
        app.MapGet("/stats", () => Results.Ok(new
        {
            clients = streams.Values.Sum(s => s.ClientCount),
            dropped = streams.Values.Sum(s => s.Dropped),
        }));
        app.Map("/ws/raw/{stream}", async (HttpContext context, string stream) =>
        {
            if (!context.WebSockets.IsWebSocketRequest)
            {
                context.Response.StatusCode = StatusCodes.Status400BadRequest;
                return;
            }
            var batched = string.Equals(context.Request.Query["format"], "batch", StringComparison.Ordinal);
            using var socket = await context.WebSockets.AcceptWebSocketAsync();
            await ServeAsync(socket, Stream(stream), batched, settings, context.RequestAborted);
        });
        await app.RunAsync();
        return 0;
    }

    private static async Task ServeAsync(WebSocket socket, RawStream stream, bool batched, RawServerSettings settings, CancellationToken aborted)
    {
        var client = new RawClient(settings.QueueEntries);
        using var closed = CancellationTokenSource.CreateLinkedTokenSource(aborted);
        var receiving = ReceiveUntilClosedAsync(socket, closed);
        try
        {
            await socket.SendAsync(RawFrames.Connected(RawFrames.NowNanoseconds()), WebSocketMessageType.Text, true, closed.Token);
            stream.Add(client);
            await SendAsync(socket, client, batched, settings, closed.Token);
        }
        catch (Exception ex) when (ex is OperationCanceledException or WebSocketException)
        {
        }
        finally
        {
            stream.Remove(client);
        }
        try
        {
            if (socket.State == WebSocketState.CloseReceived)
                await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(5));
        }
        catch (Exception ex) when (ex is WebSocketException or TimeoutException)
        {
        }
        socket.Abort();
        await receiving;
    }

    /// <summary>The one sender of a client: a gap marker for what its queue dropped, then what is queued.</summary>
    private static async Task SendAsync(WebSocket socket, RawClient client, bool batched, RawServerSettings settings, CancellationToken cancellationToken)
    {
        var reader = client.Queue.Reader;
        var batch = batched ? new ArrayBufferWriter<byte>(settings.MaxBatchBytes + 4096) : null;
        var digits = new byte[12];
        while (await reader.WaitToReadAsync(cancellationToken))
        {
            if (batch is null)
            {
                while (reader.TryRead(out var frame))
                {
                    await SendGapAsync(socket, client, cancellationToken);
                    await SendFrameAsync(socket, frame, cancellationToken);
                }
                continue;
            }
            while (true)
            {
                await SendGapAsync(socket, client, cancellationToken);
                var count = 0;
                batch.ResetWrittenCount();
                while (count < settings.MaxBatchEntries && batch.WrittenCount < settings.MaxBatchBytes && reader.TryRead(out var frame))
                {
                    batch.Write(count == 0 ? BatchHeader : ","u8);
                    batch.Write(frame);
                    count++;
                }
                if (count == 0)
                    break;
                batch.Write("""],"count":"""u8);
                count.TryFormat(digits, out var written, default, CultureInfo.InvariantCulture);
                batch.Write(digits.AsSpan(0, written));
                batch.Write("}"u8);
                await SendFrameAsync(socket, batch.WrittenMemory, cancellationToken);
            }
        }
    }

    /// <summary>Tells the client how many lines its queue dropped since it was last told, before the next lines it gets.</summary>
    private static async ValueTask SendGapAsync(WebSocket socket, RawClient client, CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref client.Dropped) == 0)
            return;
        var dropped = Interlocked.Exchange(ref client.Dropped, 0);
        await SendFrameAsync(socket, RawFrames.Gap(dropped, RawFrames.NowNanoseconds()), cancellationToken);
    }

    /// <summary>
    /// One frame, sent with CancellationToken.None: ManagedWebSocket takes its synchronous fast path only for a send
    /// that cannot be cancelled (a cancellable one always goes through its async fallback and registers with the token).
    /// A send that has to wait is ended, if the client goes meanwhile, by aborting the socket.
    /// </summary>
    private static async ValueTask SendFrameAsync(WebSocket socket, ReadOnlyMemory<byte> frame, CancellationToken cancellationToken)
    {
        var send = socket.SendAsync(frame, WebSocketMessageType.Text, true, CancellationToken.None);
        if (send.IsCompletedSuccessfully)
        {
            send.GetAwaiter().GetResult();
            return;
        }
        await using (cancellationToken.Register(static state => ((WebSocket)state!).Abort(), socket))
            await send;
    }

    private static async Task ReceiveUntilClosedAsync(WebSocket socket, CancellationTokenSource closed)
    {
        var buffer = new byte[1024];
        try
        {
            while (true)
            {
                var result = await socket.ReceiveAsync(buffer, CancellationToken.None);
                if (result.MessageType == WebSocketMessageType.Close)
                    break;
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
        }
        await closed.CancelAsync();
    }

    /// <summary>One client's bounded queue: the generator never waits for it; its oldest frames go first when full.</summary>
    private sealed class RawClient
    {
        public long Dropped;

        public RawClient(int capacity)
        {
            Queue = Channel.CreateBounded<byte[]>(
                new BoundedChannelOptions(capacity) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true, SingleWriter = true },
                _ => Interlocked.Increment(ref Dropped));
        }

        public Channel<byte[]> Queue { get; }
    }

    /// <summary>One named stream: its clients and its generator.</summary>
    private sealed class RawStream(string name)
    {
        private readonly Lock _gate = new();
        private RawClient[] _clients = [];
        private int _started;

        public int ClientCount => Volatile.Read(ref _clients).Length;
        public long Dropped => Volatile.Read(ref _clients).Sum(c => Interlocked.Read(ref c.Dropped));

        public void Add(RawClient client)
        {
            lock (_gate)
                _clients = [.. _clients, client];
        }

        public void Remove(RawClient client)
        {
            lock (_gate)
                _clients = _clients.Where(c => c != client).ToArray();
            client.Queue.Writer.TryComplete();
        }

        /// <summary>Starts the generator once: <paramref name="lines"/> lines at <paramref name="rate"/> per second, paced on the clock.</summary>
        public void Start(int rate, long lines, int padding, CancellationToken stopping)
        {
            if (Interlocked.Exchange(ref _started, 1) != 0)
                return;
            var text = WriterScript.Text(padding);
            var thread = new Thread(() => Generate(rate, lines, text, stopping)) { IsBackground = true, Name = $"raw-{name}" };
            thread.Start();
        }

        /// <summary>Hands one line's frame to every client's queue (the generator's and the Docker follow's path).</summary>
        public void Broadcast(byte[] frame)
        {
            foreach (var client in Volatile.Read(ref _clients))
                client.Queue.Writer.TryWrite(frame);
        }

        private void Generate(int rate, long lines, string text, CancellationToken stopping)
        {
            var clock = Stopwatch.StartNew();
            var tick = TimeSpan.FromSeconds(Math.Clamp(1.0 / rate, 0.005, 0.1));
            long produced = 0;
            while (produced < lines && !stopping.IsCancellationRequested)
            {
                var owed = Math.Min(lines, (long)(clock.Elapsed.TotalSeconds * rate) + 1);
                while (produced < owed)
                {
                    produced++;
                    Broadcast(RawFrames.Log(name, produced, text, RawFrames.NowNanoseconds()));
                }
                // The same rhythm as the test containers' writers (a burst every max(5 ms, 1/rate)), so both servers get the same input.
                Thread.Sleep(tick);
            }
        }
    }
}
