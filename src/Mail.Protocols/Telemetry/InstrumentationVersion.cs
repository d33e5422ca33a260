using System.Reflection;

namespace Mail.Protocols.Telemetry;

/// <summary>The version meters and activity sources carry: the assembly's informational version, without SourceLink's "+commit".</summary>
internal static class InstrumentationVersion
{
    public static string? Of(Type type) =>
        type.Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion?.Split('+')[0];
}
