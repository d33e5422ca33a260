using System.Reflection;

namespace Mail.Protocols.Fuzz;

/// <summary>Every <see cref="IFuzzTarget"/> in this assembly, found by reflection and ordered by name.</summary>
internal static class FuzzTargets
{
    private static readonly Lazy<IReadOnlyList<IFuzzTarget>> s_all = new(Discover);

    /// <summary>Every target, ordered by name.</summary>
    public static IReadOnlyList<IFuzzTarget> All => s_all.Value;

    /// <summary>The target named <paramref name="name"/> (ignoring case), or null.</summary>
    public static IFuzzTarget? Find(string name) =>
        All.FirstOrDefault(target => string.Equals(target.Name, name, StringComparison.OrdinalIgnoreCase));

    private static IReadOnlyList<IFuzzTarget> Discover()
    {
        var targets = typeof(FuzzTargets).Assembly.GetTypes()
            .Where(type => type.IsClass && !type.IsAbstract && typeof(IFuzzTarget).IsAssignableFrom(type))
            .Select(type => (IFuzzTarget)Activator.CreateInstance(type, nonPublic: true)!)
            .OrderBy(target => target.Name, StringComparer.Ordinal)
            .ToList();
        var duplicate = targets.GroupBy(target => target.Name, StringComparer.OrdinalIgnoreCase).FirstOrDefault(group => group.Count() > 1);
        if (duplicate is not null)
        {
            throw new InvalidOperationException($"Two fuzz targets are named {duplicate.Key}.");
        }

        return targets;
    }
}
