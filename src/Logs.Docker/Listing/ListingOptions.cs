using Microsoft.Extensions.Options;

namespace LogsMigration.Docker.Listing;

/// <summary>Limits of the listings and the events feed. Bound from the <c>Listing</c> section; validated at start-up.</summary>
public sealed class ListingOptions
{
    public const string SectionName = "Listing";

    /// <summary>How long one listing call waits for a Docker host before it answers <c>upstream_unavailable</c>. Default 10 s.</summary>
    public TimeSpan HostTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Containers inspected at once for their start time (the container list does not carry it). Default 8, 1…64:
    /// enough to list a busy host quickly without one request opening hundreds of daemon connections.
    /// </summary>
    public int InspectConcurrency { get; set; } = 8;

    /// <summary>
    /// Events queued for one client of <c>/ws/hosts/{id}/events</c> before the oldest are dropped (the client then
    /// gets a <c>gap</c> frame with the count). Default 1024, 16…65536.
    /// </summary>
    public int EventQueueEntries { get; set; } = 1024;

    /// <summary>
    /// How long a host's shared Docker events stream stays open after its last client left, so a page reload does not
    /// reopen it. Default 5 s, 0…5 min.
    /// </summary>
    public TimeSpan EventIdleGrace { get; set; } = TimeSpan.FromSeconds(5);

    internal sealed class Validator : IValidateOptions<ListingOptions>
    {
        public ValidateOptionsResult Validate(string? name, ListingOptions o)
        {
            var errors = new List<string>();
            if (o.HostTimeout <= TimeSpan.Zero || o.HostTimeout > TimeSpan.FromMinutes(2))
                errors.Add($"Listing:HostTimeout must be above 00:00:00 and at most 00:02:00 (was {o.HostTimeout}).");
            if (o.InspectConcurrency is < 1 or > 64)
                errors.Add($"Listing:InspectConcurrency must be between 1 and 64 (was {o.InspectConcurrency}).");
            if (o.EventQueueEntries is < 16 or > 65536)
                errors.Add($"Listing:EventQueueEntries must be between 16 and 65536 (was {o.EventQueueEntries}).");
            if (o.EventIdleGrace < TimeSpan.Zero || o.EventIdleGrace > TimeSpan.FromMinutes(5))
                errors.Add($"Listing:EventIdleGrace must be between 00:00:00 and 00:05:00 (was {o.EventIdleGrace}).");
            return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
        }
    }
}
