namespace LogsMigration.Pipeline.Model;

/// <summary>Which output a line was written to. System logs (host, daemon) have no stdout/stderr split.</summary>
public enum OutputStream : byte
{
    Stdout = 1,
    Stderr = 2,
    System = 3,
}

/// <summary>Which outputs a stream reads; part of the stream key because it changes what the upstream sends.</summary>
[Flags]
public enum StreamSelection : byte
{
    Stdout = 1,
    Stderr = 2,
    Both = Stdout | Stderr,
}

public static class OutputStreamNames
{
    public static string ToWire(this OutputStream stream) => stream switch
    {
        OutputStream.Stdout => "stdout",
        OutputStream.Stderr => "stderr",
        _ => "system",
    };
}
