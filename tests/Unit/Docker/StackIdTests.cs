using LogsMigration.Docker.Stacks;

namespace LogsMigration.Tests.Unit.Docker;

/// <summary>The stack's canonical id carries its kind, and nothing a user types can be taken for one.</summary>
public sealed class StackIdTests
{
    [Theory]
    [InlineData("swarm:shop", StackKind.Swarm, "shop")]
    [InlineData("compose:my_project-1.x", StackKind.Compose, "my_project-1.x")]
    public void TryParse_CanonicalIds_KindAndName(string value, StackKind kind, string name)
    {
        Assert.True(StackId.TryParse(value, out var id));
        Assert.Equal(new StackId(kind, name), id);
        Assert.Equal(value, id.ToString());
    }

    [Theory]
    [InlineData("shop")]
    [InlineData("kube:shop")]
    [InlineData("swarm:")]
    [InlineData(":shop")]
    [InlineData("swarm:/shop")]
    [InlineData("swarm:../x")]
    [InlineData("compose:a:b")]
    [InlineData(null)]
    public void TryParse_NamesAndMalformedIds_Refused(string? value) => Assert.False(StackId.TryParse(value, out _));
}
