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
    [InlineData("Streaming:BatchLinger", "-00:00:00.001", "Streaming:BatchLinger must be between")]
    [InlineData("Streaming:BatchLinger", "00:00:00.101", "Streaming:BatchLinger must be between 00:00:00 and 00:00:00.100")]
    [InlineData("Streaming:ShutdownDrainWindow", "-00:00:01", "Streaming:ShutdownDrainWindow must be between")]
    public void Start_InvalidLimit_FailsNamingTheSetting(string key, string value, string expected)
    {
        var ex = StartFailure(key, value);
        // Several options classes are validated together; a failure may come alone or inside an AggregateException.
        if (ex is not (OptionsValidationException or AggregateException))
            Assert.Fail($"the start failed with something else than a validation failure: {ex}");
        var validation = ex as OptionsValidationException ?? ((AggregateException)ex).Flatten().InnerExceptions.OfType<OptionsValidationException>().First();
        Assert.Contains(validation.Failures, f => f.Contains(expected, StringComparison.Ordinal));
    }

    /// <summary>
    /// The exception of a start with the setting. WebApplicationFactory runs the entry point on a thread of its own and,
    /// when the host fails to start, can lose the race with that thread's dispose and throw ObjectDisposedException
    /// from its own code instead of the start's failure (dotnet/aspnetcore#33494; seen here about once in 30 runs).
    /// That is the factory's, not the service's: a new factory is tried (at most three times). A start that succeeds
    /// still fails the test.
    /// </summary>
    private static Exception StartFailure(string key, string value)
    {
        for (var attempt = 1; ; attempt++)
        {
            using var api = new ApiFactory(settings => settings[key] = value);
            var ex = Assert.ThrowsAny<Exception>(() => api.CreateClient());
            if (ex is not ObjectDisposedException disposed || attempt == 3
                || disposed.StackTrace?.Contains("WebApplicationFactory", StringComparison.Ordinal) != true)
                return ex;
        }
    }
}
