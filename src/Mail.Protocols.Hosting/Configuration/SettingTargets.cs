using System.ComponentModel;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Reflection;

namespace Mail.Protocols.Hosting.Configuration;

/// <summary>
/// What a configuration key points at in a settings type, found by walking its properties: so that a key the binder
/// would skip without a word (a setting that is fixed, or one that cannot be written as text) is refused instead.
/// </summary>
[RequiresUnreferencedCode(SettingsBinder.ReflectionReason)]
internal static class SettingTargets
{
    /// <summary>Why <paramref name="key"/> (relative, with values) cannot set anything in <paramref name="root"/>; null when it can, or when the binder judges it.</summary>
    public static string? Refusal(Type root, string key)
    {
        var segments = key.Split(':');
        var type = root;
        for (var i = 0; i < segments.Length; i++)
        {
            if (ElementType(type) is { } element && int.TryParse(segments[i], NumberStyles.None, CultureInfo.InvariantCulture, out _))
            {
                type = element;
                if (i == segments.Length - 1 && !IsText(type))
                {
                    return "a list item here is a group of settings, not one text value.";
                }
                continue;
            }
            var property = type.GetProperty(segments[i], BindingFlags.Public | BindingFlags.Instance | BindingFlags.IgnoreCase);
            if (property is null || IsDictionary(type))
            {
                return null; // an unknown key: the binder's own check names it
            }
            if (i < segments.Length - 1)
            {
                type = property.PropertyType;
                continue;
            }
            if (ElementType(property.PropertyType) is not null && property.PropertyType != typeof(string))
            {
                return "is a list: give its items as an array (or as the keys :0, :1 and so on).";
            }
            if (property.SetMethod is not { IsPublic: true })
            {
                return "is fixed: it cannot be set.";
            }
            if (!IsText(property.PropertyType) && !(i == 0 && IsOctets(property.PropertyType)))
            {
                return "cannot be given as text: set it in code (or give its parts as settings below it).";
            }
        }
        return null;
    }

    /// <summary>The top-level property of octets (given in base64) that <paramref name="key"/> names, or null.</summary>
    public static PropertyInfo? OctetsProperty(Type root, string key) =>
        key.Contains(':', StringComparison.Ordinal) ? null
        : root.GetProperty(key, BindingFlags.Public | BindingFlags.Instance | BindingFlags.IgnoreCase) is { SetMethod.IsPublic: true } property && IsOctets(property.PropertyType) ? property
        : null;

    /// <summary>Whether <paramref name="key"/> names a list of <paramref name="root"/> (at any depth: <c>Addressing:DomainsWithoutSubaddresses</c>, <c>Accounts:0:Aliases</c>).</summary>
    public static bool IsList(Type root, string key)
    {
        var type = root;
        foreach (var segment in key.Split(':'))
        {
            if (ElementType(type) is { } element && int.TryParse(segment, NumberStyles.None, CultureInfo.InvariantCulture, out _))
            {
                type = element; // an item of a list: Accounts:0:Aliases
                continue;
            }
            if (type.GetProperty(segment, BindingFlags.Public | BindingFlags.Instance | BindingFlags.IgnoreCase) is not { } property)
            {
                return false;
            }
            type = property.PropertyType;
        }
        return ElementType(type) is not null && !IsDictionary(type);
    }

    private static bool IsOctets(Type type) => type == typeof(ReadOnlyMemory<byte>);

    private static bool IsText(Type type)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        return type.IsPrimitive || type.IsEnum || type == typeof(string) || type == typeof(decimal) || type == typeof(TimeSpan)
            || type == typeof(DateTime) || type == typeof(DateTimeOffset) || type == typeof(Guid) || type == typeof(Uri)
            || TypeDescriptor.GetConverter(type).CanConvertFrom(typeof(string));
    }

    // Octets (a key, a secret) are one value, not a list of numbers.
    private static Type? ElementType(Type type)
    {
        if (type == typeof(string) || type == typeof(byte[]))
        {
            return null;
        }
        if (type.IsArray)
        {
            return type.GetElementType();
        }
        var enumerable = type.IsGenericType && type.GetGenericTypeDefinition() == typeof(IEnumerable<>) ? type
            : type.GetInterfaces().FirstOrDefault(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IEnumerable<>));
        return enumerable?.GetGenericArguments()[0];
    }

    private static bool IsDictionary(Type type) =>
        type.GetInterfaces().Append(type).Any(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IDictionary<,>));
}
