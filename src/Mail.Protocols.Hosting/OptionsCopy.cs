using System.Collections;
using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using Mail.Protocols.Connections;

namespace Mail.Protocols.Hosting;

/// <summary>
/// A copy of a settings object, so that the host can complete its own (server name, certificate, folders at login)
/// without changing the object the caller passed in, which the caller may reuse for another host.
/// </summary>
internal static class OptionsCopy
{
    /// <summary>
    /// A new <typeparamref name="T"/> with the settings of <paramref name="source"/>: each settable property set to the
    /// same value (services such as the certificate or the hooks are shared, not copied, and so is a group of settings
    /// that has a setter: copy it too where it matters), each list given the same items, and each group of settings that
    /// cannot be replaced (<c>Limits</c>) copied the same way.
    /// </summary>
    public static T Of<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicProperties)] T>(T source) where T : class, new()
    {
        ArgumentNullException.ThrowIfNull(source);
        var copy = new T();
        Into(typeof(T), source, copy);
        return copy;
    }

    // The properties are those of T, known when the application is trimmed (the annotation keeps them), not of whatever
    // subclass the source is: the copy is a T.
    private static void Into([DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicProperties)] Type type, object source, object target)
    {
        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (property.GetIndexParameters().Length > 0 || !property.CanRead)
            {
                continue;
            }
            var value = property.GetValue(source);
            if (property.SetMethod is { IsPublic: true })
            {
                property.SetValue(target, value);
            }
            else if (value is IList items && property.GetValue(target) is IList list && !list.IsReadOnly && !ReferenceEquals(items, list))
            {
                list.Clear();
                foreach (var item in items)
                {
                    list.Add(item);
                }
            }
            else if (value is not null && property.PropertyType.Namespace?.StartsWith("Mail.Protocols", StringComparison.Ordinal) == true
                && property.PropertyType.IsClass && property.GetValue(target) is { } group)
            {
                // A fixed group of settings, named here so that trimming keeps its properties; a new one fails the copy
                // (and OptionsCopyTests) until it is added.
                if (group is not ConnectionLimits)
                {
                    throw new NotSupportedException($"{type.Name}.{property.Name}: a group of settings OptionsCopy does not know.");
                }
                Into(typeof(ConnectionLimits), value, group);
            }
        }
    }
}
