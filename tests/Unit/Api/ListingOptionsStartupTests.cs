using Microsoft.Extensions.Options;

namespace LogsMigration.Tests.Unit.Api;

public sealed class ListingOptionsStartupTests
{
    [Theory]
    [InlineData("Listing:HostTimeout", "00:00:00", "Listing:HostTimeout must be above")]
    [InlineData("Listing:InspectConcurrency", "0", "Listing:InspectConcurrency must be between")]
    [InlineData("Listing:EventQueueEntries", "1", "Listing:EventQueueEntries must be between")]
    [InlineData("Listing:EventIdleGrace", "-00:00:01", "Listing:EventIdleGrace must be between")]
    public void Start_InvalidListingLimit_FailsNamingTheSetting(string key, string value, string expected)
    {
        using var api = new ApiFactory(settings => settings[key] = value);
        var ex = Assert.ThrowsAny<Exception>(() => api.CreateClient());
        var validation = ex as OptionsValidationException ?? Assert.IsType<AggregateException>(ex).Flatten().InnerExceptions.OfType<OptionsValidationException>().First();
        Assert.Contains(validation.Failures, f => f.Contains(expected, StringComparison.Ordinal));
    }
}
