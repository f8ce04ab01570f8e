using System.Runtime.CompilerServices;
using LogsMigration.Pipeline;
using LogsMigration.Pipeline.Model;
using LogsMigration.Pipeline.Sources;
using Microsoft.Extensions.Time.Testing;

namespace LogsMigration.Tests.Unit.Pipeline;

/// <summary>The resolve cache with a fake source and a fake events watch (both our own interfaces).</summary>
public sealed class ResolveCacheTests
{
    private sealed class CountingSource : ILogSource
    {
        public int Calls;
        public string Answer = "id-1";
        public TaskCompletionSource? Gate;

        public LogSourceType SourceType => LogSourceType.Container;

        public async ValueTask<string> ResolveAsync(string hostId, string resource, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref Calls);
            var answer = Answer;
            if (Gate is { } gate)
                await gate.Task.WaitAsync(cancellationToken);
            return answer;
        }

        public async IAsyncEnumerable<SourceRecord> ReadAsync(StreamKey key, SourceStart start, [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            await Task.CompletedTask;
            yield break;
        }
    }

    private sealed class Watch(bool watching) : IResolveInvalidation
    {
        public bool Watching = watching;

        public bool IsWatching(string hostId, ResolveCache cache) => Watching;
    }

    private static (ResolveCache Cache, CountingSource Source, FakeTimeProvider Time, Watch Watch) Create(bool watching = true)
    {
        var source = new CountingSource();
        var time = new FakeTimeProvider();
        var watch = new Watch(watching);
        var cache = new ResolveCache(new LogSourceRegistry([source]), Microsoft.Extensions.Options.Options.Create(new PipelineOptions { ResolveCacheTtl = TimeSpan.FromSeconds(5) }), time, watch);
        return (cache, source, time, watch);
    }

    private static ValueTask<string> Resolve(ResolveCache cache) => cache.ResolveAsync(LogSourceType.Container, "local", "web", CancellationToken.None);

    [Fact]
    public async Task Resolve_AgainWithinTheTtlWhileWatched_AsksTheSourceOnceUntilItExpires()
    {
        var (cache, source, time, _) = Create();
        Assert.Equal("id-1", await Resolve(cache));
        Assert.Equal("id-1", await Resolve(cache));
        Assert.Equal(1, source.Calls);
        time.Advance(TimeSpan.FromSeconds(5));
        await Resolve(cache);
        Assert.Equal(2, source.Calls);
        Assert.Equal(2, cache.SourceCalls);
        Assert.Equal(1, cache.Hits);
    }

    [Fact]
    public async Task Resolve_ManyAtOnce_ShareOneSourceCall()
    {
        var (cache, source, _, _) = Create();
        source.Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var all = Enumerable.Range(0, 300).Select(_ => Resolve(cache).AsTask()).ToList();
        source.Gate.SetResult();
        Assert.All(await Task.WhenAll(all), id => Assert.Equal("id-1", id));
        Assert.Equal(1, source.Calls);
    }

    [Fact]
    public async Task Invalidate_WhileAResolveIsInFlight_ItsAnswerIsNotKept()
    {
        var (cache, source, _, _) = Create();
        source.Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var inFlight = Resolve(cache).AsTask();
        // The name now means another container: the inspect under way may have seen the old one.
        cache.Invalidate("local");
        source.Gate.SetResult();
        Assert.Equal("id-1", await inFlight);
        source.Gate = null;
        source.Answer = "id-2";
        Assert.Equal("id-2", await Resolve(cache));
        Assert.Equal(2, source.Calls);
    }

    [Fact]
    public async Task Resolve_AfterAnInvalidationWhileAnOlderResolveIsInFlight_NeverGetsNorCachesTheOlderAnswer()
    {
        // A resolve in flight, then the name is given to a new container and the event comes. A viewer asking after the
        // event must not share the older inspect (it may have seen the old container), nor find its answer cached later.
        var (cache, source, _, _) = Create();
        source.Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var before = Resolve(cache).AsTask();
        source.Answer = "id-2";
        cache.Invalidate("local");
        var after = Resolve(cache).AsTask();
        source.Gate.SetResult();
        Assert.Equal("id-1", await before);
        Assert.Equal("id-2", await after);
        source.Gate = null;
        Assert.Equal("id-2", await Resolve(cache));
        Assert.Equal(2, source.Calls);
    }

    private sealed class ChangingSource : ILogSource
    {
        public volatile string Answer = "id-0";

        public LogSourceType SourceType => LogSourceType.Container;

        public async ValueTask<string> ResolveAsync(string hostId, string resource, CancellationToken cancellationToken)
        {
            var answer = Answer;
            // An inspect takes a while: let other resolves and invalidations run in between.
            for (var i = 0; i < 20; i++)
                await Task.Yield();
            return answer;
        }

        public async IAsyncEnumerable<SourceRecord> ReadAsync(StreamKey key, SourceStart start, [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            await Task.CompletedTask;
            yield break;
        }
    }

    [Fact]
    public async Task Resolve_NameChangingUnderConcurrentResolves_AfterEachInvalidationEveryAnswerIsTheNewOne()
    {
        // Both windows at once, under real threads: an answer stored by a resolve that began before an event (its check
        // passed just before the invalidation, its store landing just after), and a resolve joining such a flight. Once
        // an invalidation has returned, every resolve must give the name's new meaning.
        var source = new ChangingSource();
        var cache = new ResolveCache(new LogSourceRegistry([source]), Microsoft.Extensions.Options.Options.Create(new PipelineOptions { ResolveCacheTtl = TimeSpan.FromMinutes(5) }),
            new FakeTimeProvider(), new Watch(watching: true));
        using var stop = new CancellationTokenSource();
        var readers = Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
                await Resolve(cache);
        })).ToList();
        try
        {
            for (var i = 1; i <= 2000; i++)
            {
                source.Answer = $"id-{i}";
                cache.Invalidate("local");
                Assert.Equal($"id-{i}", await Resolve(cache));
                Assert.Equal($"id-{i}", await Resolve(cache));
            }
        }
        finally
        {
            stop.Cancel();
            await Task.WhenAll(readers);
        }
    }

    [Fact]
    public async Task Invalidate_AfterCaching_TheNextResolveAsksTheSource()
    {
        var (cache, source, _, _) = Create();
        await Resolve(cache);
        source.Answer = "id-2";
        cache.Invalidate("local");
        Assert.Equal("id-2", await Resolve(cache));
    }

    [Fact]
    public async Task Resolve_HostNotWatched_IsNeverCached()
    {
        var (cache, source, _, _) = Create(watching: false);
        await Resolve(cache);
        await Resolve(cache);
        Assert.Equal(2, source.Calls);
        Assert.Equal(0, cache.Count);
    }
}
