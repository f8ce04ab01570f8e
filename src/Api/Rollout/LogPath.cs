namespace LogsMigration.Api.Rollout;

/// <summary>Which implementation serves a connection. The value is the <c>path</c> tag of every metric and the <c>path</c> field of <c>connected</c>.</summary>
public enum LogPath
{
    Unified,
    Legacy,
}
