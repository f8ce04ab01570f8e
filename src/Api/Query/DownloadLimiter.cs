using System.Collections.Concurrent;
using LogsMigration.Pipeline.Query;
using Microsoft.Extensions.Options;

namespace LogsMigration.Api.Query;

/// <summary>
/// How many downloads run at once: each holds a Docker read and a response for as long as the file takes, so they are
/// bounded per instance (<see cref="QueryOptions.MaxConcurrentDownloads"/>) and per user
/// (<see cref="QueryOptions.MaxConcurrentDownloadsPerUser"/>); one more is refused with 429 <c>too_many_downloads</c>.
/// </summary>
public sealed class DownloadLimiter(IOptions<QueryOptions> options)
{
    private readonly QueryOptions _options = options.Value;
    private readonly ConcurrentDictionary<string, int> _perUser = new(StringComparer.Ordinal);
    private int _running;

    /// <summary>Downloads running now on this instance.</summary>
    public int Running => Volatile.Read(ref _running);

    /// <summary>A slot for <paramref name="user"/>'s download (dispose it when the response ends), or null when at a bound, with the reason.</summary>
    public Slot? TryEnter(string user, out string? refusal)
    {
        refusal = null;
        if (Interlocked.Increment(ref _running) > _options.MaxConcurrentDownloads)
        {
            Interlocked.Decrement(ref _running);
            refusal = $"This instance already runs {_options.MaxConcurrentDownloads} downloads (Query:MaxConcurrentDownloads); try again when one has finished.";
            return null;
        }
        if (_perUser.AddOrUpdate(user, 1, static (_, n) => n + 1) > _options.MaxConcurrentDownloadsPerUser)
        {
            Leave(user);
            refusal = $"You already run {_options.MaxConcurrentDownloadsPerUser} downloads at once (Query:MaxConcurrentDownloadsPerUser); try again when one has finished.";
            return null;
        }
        return new Slot(this, user);
    }

    private void Leave(string user)
    {
        Interlocked.Decrement(ref _running);
        // Removed by value only when it fell to 0, so a concurrent TryEnter of the same user keeps its count.
        if (_perUser.AddOrUpdate(user, 0, static (_, n) => n - 1) <= 0)
            _perUser.TryRemove(new KeyValuePair<string, int>(user, 0));
    }

    public sealed class Slot(DownloadLimiter limiter, string user) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
                limiter.Leave(user);
        }
    }
}
