using System.Diagnostics;
using Spectre.Console;

namespace LogsMigration.Load.Report;

/// <summary>
/// Live progress of the running scenario: a line redrawn in place on a terminal (Spectre.Console live display),
/// or a plain line every few seconds when the output is a log (CI), so a stuck run is visible either way.
/// </summary>
internal sealed class LiveProgress
{
    private static readonly TimeSpan PlainInterval = TimeSpan.FromSeconds(5);
    private readonly bool _interactive = AnsiConsole.Profile.Capabilities.Interactive && !Console.IsOutputRedirected;

    public async Task RunAsync(string title, Func<Action<string>, Task> body)
    {
        if (_interactive)
        {
            await AnsiConsole.Live(new Markup($"[bold]{Markup.Escape(title)}[/]")).AutoClear(true).StartAsync(async live =>
            {
                await body(status =>
                {
                    live.UpdateTarget(new Markup($"[bold]{Markup.Escape(title)}[/]  {Markup.Escape(status)}"));
                    live.Refresh();
                });
            });
            return;
        }
        var last = Stopwatch.StartNew();
        await body(status =>
        {
            if (last.Elapsed < PlainInterval)
                return;
            last.Restart();
            Console.WriteLine($"    … {title}: {status}");
        });
    }

    public static void Line(string markup) => AnsiConsole.MarkupLine(markup);
}
