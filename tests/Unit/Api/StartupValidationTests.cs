using Microsoft.Extensions.Options;

namespace LogsMigration.Tests.Unit.Api;

public sealed class StartupValidationTests
{
    [Theory]
    [InlineData("Auth:SigningKey", "", "Auth:SigningKey is required")]
    [InlineData("Auth:SigningKey", "short", "at least 32 bytes")]
    [InlineData("Streaming:MaxTail", "5000", "Streaming:MaxTail must be between 0 and Pipeline:ReplayEntries")]
    [InlineData("Pipeline:SubscriberQueueEntries", "1", "Pipeline:SubscriberQueueEntries must be between")]
    [InlineData("Pipeline:IdleGrace", "-00:00:01", "Pipeline:IdleGrace must be between")]
    [InlineData("Streaming:HeartbeatInterval", "00:00:00", "Streaming:HeartbeatInterval must be between")]
    [InlineData("Auth:AllowedOrigins:0", "not an origin", "is not an origin")]
    [InlineData("Streaming:ShutdownDrainWindow", "-00:00:01", "Streaming:ShutdownDrainWindow must be between")]
    public void Start_InvalidLimit_FailsNamingTheSetting(string key, string value, string expected)
    {
        using var api = new ApiFactory(settings => settings[key] = value);
        // Several options classes are validated together; a failure may come alone or inside an AggregateException.
        var ex = Assert.ThrowsAny<Exception>(() => api.CreateClient());
        var validation = ex as OptionsValidationException ?? Assert.IsType<AggregateException>(ex).Flatten().InnerExceptions.OfType<OptionsValidationException>().First();
        Assert.Contains(validation.Failures, f => f.Contains(expected, StringComparison.Ordinal));
    }
}
