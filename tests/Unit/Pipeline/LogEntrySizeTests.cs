using static LogsMigration.Tests.Unit.Pipeline.BufferTestEntries;

namespace LogsMigration.Tests.Unit.Pipeline;

public sealed class LogEntrySizeTests
{
    private static readonly Dictionary<string, string> ServiceMetadata = new()
    {
        ["node_id"] = "n0d3n0d3n0d3n0d3n0d3n0d3n",
        ["service_id"] = "s3rv1c3s3rv1c3s3rv1c3s3rv",
        ["task_id"] = "t4skt4skt4skt4skt4skt4skt",
        ["service_name"] = "web \"front\"",
        ["replica"] = "3",
        ["task_name"] = "web.3.t4skt4skt4skt4skt4skt4skt",
    };

    public static TheoryData<string> Texts() =>
    [
        "",
        "plain line",
        new string('x', 64 * 1024),
        "{\"level\":\"info\",\"msg\":\"quoted \\\"and\\\" escaped\",\"path\":\"C:\\\\temp\"}",
        "tabs\tnew\nline\rbell\u0007nul\u0000del\u007f",
        "café ünïcödé 中文日志 emoji 😀😀 done",
        "unassigned \u0378\u0890\u05c8 code points the relaxed encoder escapes",
        new string('"', 5000),
        new string('\u0001', 5000),
        new string('中', 5000),
    ];

    [Theory]
    [MemberData(nameof(Texts))]
    public void ApproximateSize_AnyText_IsAtLeastItsTextAndBothFrames(string text)
    {
        foreach (var entry in new[] { Entry(1, text), Entry(123_456_789, text, ServiceMetadata, receivedTime: true) })
        {
            // Read before the frames exist, as the replay buffer does when it appends: the size must already cover them.
            var size = entry.ApproximateSize;
            Assert.True(size >= Held(entry), $"{size} < {Held(entry)} held for a text of {text.Length} chars");
        }
    }

    [Theory]
    [InlineData(200)]
    [InlineData(64 * 1024)]
    public void ApproximateSize_PlainAsciiLine_IsCloseToWhatItHolds(int length)
    {
        var entry = Entry(42, new string('a', length));
        var size = entry.ApproximateSize;
        var held = Held(entry);
        // Object headers and the allowance for bounded fields, never a multiple of the line.
        Assert.InRange(size, held, held + 1024);
    }

    [Fact]
    public void ApproximateSize_Line64K_IsAbout384KiB()
    {
        // The figure the options' documentation quotes: the text as UTF-16 and the line twice in each of two frames.
        Assert.InRange(Entry(1, Line64K).ApproximateSize, 384 * 1024, 385 * 1024);
    }
}
