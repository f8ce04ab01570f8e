namespace LogsMigration.Docker.HostLogs;

/// <summary>A place in a followed file or in its rotated predecessor (<c>FILE.1</c>), which comes before it.</summary>
internal readonly record struct FilePoint(bool InRotated, long Offset) : IComparable<FilePoint>
{
    public static FilePoint StartOfCurrent { get; } = new(false, 0);

    public int CompareTo(FilePoint other) =>
        InRotated != other.InRotated ? (InRotated ? -1 : 1) : Offset.CompareTo(other.Offset);

    public static FilePoint Later(FilePoint a, FilePoint b) => a.CompareTo(b) >= 0 ? a : b;
}
