using System.Runtime.CompilerServices;
using System.Threading.Channels;
using LogsMigration.Pipeline.Streaming;
using LogsMigration.Tests.Unit.Fakes;

namespace LogsMigration.Tests.Unit.Pipeline;

public sealed class ChunkedReadTests
{
    [Fact]
    public async Task ReadAsync_HandsOnWhatIsReadyInChunksOfAtMostMax_AndALoneLineAtOnce()
    {
        var lines = Channel.CreateUnbounded<int>();
        for (var i = 1; i <= 600; i++)
            lines.Writer.TryWrite(i);
        var chunks = new List<int[]>();
        var reading = Task.Run(async () =>
        {
            await foreach (var chunk in ChunkedRead.ReadAsync(token => lines.Reader.ReadAllAsync(token), CancellationToken.None))
            {
                lock (chunks)
                    chunks.Add([.. chunk]);
            }
        });

        // 600 ready lines: two full chunks, then the 88 left are handed on as soon as the next read has to wait.
        await Eventually.True(() => Count(chunks) == 3, "three chunks", TimeSpan.FromSeconds(10));
        // A single line on a quiet stream is not held back waiting for company.
        lines.Writer.TryWrite(601);
        await Eventually.True(() => Count(chunks) == 4, "the lone line's chunk", TimeSpan.FromSeconds(10));
        lines.Writer.Complete();
        await reading.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal([ChunkedRead.MaxRecords, ChunkedRead.MaxRecords, 600 - 2 * ChunkedRead.MaxRecords, 1], chunks.Select(c => c.Length));
        Assert.Equal(Enumerable.Range(1, 601), chunks.SelectMany(c => c));
    }

    [Fact]
    public async Task ReadAsync_StoppedWhileAReadIsInFlight_CancelsAndEndsThatRead()
    {
        var tokenSeen = new TaskCompletionSource<CancellationToken>(TaskCreationOptions.RunContinuationsAsynchronously);
        var sourceEnded = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        async IAsyncEnumerable<int> OneLineThenSilence([EnumeratorCancellation] CancellationToken cancellationToken)
        {
            try
            {
                tokenSeen.SetResult(cancellationToken);
                yield return 1;
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }
            finally
            {
                sourceEnded.SetResult();
            }
        }

        await foreach (var chunk in ChunkedRead.ReadAsync(OneLineThenSilence, CancellationToken.None))
        {
            Assert.Equal([1], chunk);
            break;
        }

        // Leaving the loop disposed the chunked read: the source's pending read was cancelled and has finished.
        await sourceEnded.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True((await tokenSeen.Task).IsCancellationRequested);
    }

    [Fact]
    public async Task ReadAsync_ReadFailsAtOnce_HandsOnTheLinesItGaveBeforeTheFailure()
    {
        static async IAsyncEnumerable<int> ThreeLinesThenAFault([EnumeratorCancellation] CancellationToken cancellationToken)
        {
            await Task.CompletedTask;
            yield return 1;
            yield return 2;
            yield return 3;
            throw new IOException("connection reset");
        }

        var received = new List<int>();
        var failure = await Assert.ThrowsAsync<IOException>(async () =>
        {
            await foreach (var chunk in ChunkedRead.ReadAsync(ThreeLinesThenAFault, CancellationToken.None))
                received.AddRange(chunk);
        });

        Assert.Equal("connection reset", failure.Message);
        Assert.Equal([1, 2, 3], received);
    }

    private static int Count(List<int[]> chunks)
    {
        lock (chunks)
            return chunks.Count;
    }
}
