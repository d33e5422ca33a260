using System.Collections;
using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace Mail.Protocols.Hosting.Configuration;

/// <summary>
/// Binds a configuration section onto a settings object so that every mistake fails at start with the path of the
/// setting that caused it ("Mail:Smtp:MaxRecipients: ..."): a key that names no setting (a typo), a value a setter
/// refuses, and a key the configuration binder would skip without a word (a fixed setting, one that cannot be text).
/// </summary>
internal static class SettingsBinder
{
    /// <summary>
    /// Why the registrations that read configuration are not for trimmed or Native AOT applications: settings are bound,
    /// and their keys checked, by reflection over the settings types. Such an application configures in code (MailHost).
    /// </summary>
    public const string ReflectionReason =
        "Settings are bound from configuration by reflection over the settings types; in a trimmed or Native AOT application configure the servers in code (MailHost, MailHostOptions).";

    /// <summary>
    /// Binds the values under <paramref name="section"/> whose first key segment <paramref name="takes"/> accepts onto
    /// <paramref name="target"/>. A list named in the configuration, an empty one included, replaces the list the
    /// settings start with; a setting of octets (the SCRAM key) is given in base64.
    /// </summary>
    /// <exception cref="OptionsValidationException">A key or value is not a valid setting; the message names its path.</exception>
    [RequiresUnreferencedCode(ReflectionReason), RequiresDynamicCode(ReflectionReason)]
    public static void Bind<T>(IConfiguration section, T target, Func<string, bool> takes) where T : class, new()
    {
        var (leaves, emptied) = Read(section, takes);
        // JSON gives an empty array as its key with an empty value.
        foreach (var leaf in leaves.Where(leaf => leaf.Value?.Length == 0 && SettingTargets.IsList(typeof(T), leaf.Key)).ToList())
        {
            leaves.Remove(leaf);
            emptied.Add(leaf.Key);
        }
        foreach (var (key, _) in leaves)
        {
            if (SettingTargets.Refusal(typeof(T), key) is { } reason)
            {
                throw Refusal<T>(PathOf(section, key), reason);
            }
        }
        var octets = leaves.Where(leaf => SettingTargets.OctetsProperty(typeof(T), leaf.Key) is not null).ToList();
        leaves.RemoveAll(octets.Contains);
        ClearLists([.. leaves.Select(leaf => leaf.Key), .. emptied], target);
        if (leaves.Count > 0)
        {
            try
            {
                BindLeaves(leaves, target);
            }
            catch (Exception failure) when (failure is not OutOfMemoryException)
            {
                throw Culprit<T>(section, leaves) ?? Refusal<T>(PathOf(section, null), Reason(failure, null), failure);
            }
        }
        foreach (var (key, value) in octets)
        {
            SetOctets(section, target, key, value);
        }
    }

    /// <summary>The refusal of a setting, in the form the options system reports validation failures.</summary>
    public static OptionsValidationException Refusal<T>(string path, string reason, Exception? inner = null)
    {
        var message = $"{path}: {reason}";
        return inner is null
            ? new OptionsValidationException(Options.DefaultName, typeof(T), [message])
            : new SettingsBindingException(typeof(T), message, inner);
    }

    /// <summary>The configuration path of <paramref name="relativeKey"/> under <paramref name="section"/>.</summary>
    public static string PathOf(IConfiguration section, string? relativeKey)
    {
        var root = (section as IConfigurationSection)?.Path;
        return string.IsNullOrEmpty(root) ? relativeKey ?? "(configuration root)" : relativeKey is null ? root : root + ":" + relativeKey;
    }

    /// <summary>Whether configuration mentions <paramref name="key"/> under <paramref name="section"/> at all, as an empty list included.</summary>
    public static bool Mentions(IConfiguration section, string key) =>
        section.AsEnumerable(makePathsRelative: true).Any(pair =>
            pair.Key.Equals(key, StringComparison.OrdinalIgnoreCase) || pair.Key.StartsWith(key + ":", StringComparison.OrdinalIgnoreCase));

    // The keys with values, sorted, and the keys given as empty lists or objects (a null value and nothing below).
    private static (List<KeyValuePair<string, string?>> Leaves, List<string> Emptied) Read(IConfiguration section, Func<string, bool> takes)
    {
        var all = section.AsEnumerable(makePathsRelative: true).Where(pair => takes(FirstSegment(pair.Key))).ToList();
        var leaves = all.Where(pair => pair.Value is not null).ToList();
        leaves.Sort((a, b) => string.CompareOrdinal(a.Key, b.Key));
        var emptied = all.Where(pair => pair.Value is null && !all.Any(other => other.Key.StartsWith(pair.Key + ":", StringComparison.OrdinalIgnoreCase)))
            .Select(pair => pair.Key).ToList();
        return (leaves, emptied);
    }

    // Which setting made the binding fail: each top-level setting is bound alone on fresh settings, its keys added one at
    // a time (a record's constructor needs all of its keys together), and the key at which it first fails is named.
    [RequiresUnreferencedCode(ReflectionReason), RequiresDynamicCode(ReflectionReason)]
    private static OptionsValidationException? Culprit<T>(IConfiguration section, List<KeyValuePair<string, string?>> leaves) where T : class, new()
    {
        foreach (var group in leaves.GroupBy(leaf => FirstSegment(leaf.Key), StringComparer.OrdinalIgnoreCase))
        {
            var keys = group.ToList();
            for (var count = 1; count <= keys.Count; count++)
            {
                try
                {
                    var probe = new T();
                    var some = keys.GetRange(0, count);
                    ClearLists([.. some.Select(leaf => leaf.Key)], probe);
                    BindLeaves(some, probe);
                }
                catch (Exception failure) when (failure is not OutOfMemoryException)
                {
                    if (count == keys.Count || !IsIncompleteRecord(failure))
                    {
                        return Refusal<T>(PathOf(section, keys[count - 1].Key), Reason(failure, keys[count - 1].Value), failure);
                    }
                }
            }
        }
        return null;
    }

    // A record bound from only some of its constructor's keys fails until the rest arrive.
    private static bool IsIncompleteRecord(Exception failure) =>
        failure is InvalidOperationException && failure.Message.Contains("constructor", StringComparison.OrdinalIgnoreCase);

    [RequiresUnreferencedCode(ReflectionReason), RequiresDynamicCode(ReflectionReason)]
    private static void BindLeaves<T>(List<KeyValuePair<string, string?>> leaves, T target) where T : class =>
        new ConfigurationBuilder().AddInMemoryCollection(leaves).Build().Bind(target, options => options.ErrorOnUnknownConfiguration = true);

    // The binder adds a configured list's items to the items a get-only list starts with (AuthMechanisms would keep every
    // default mechanism and repeat the configured ones): a list given in configuration means exactly that list, at any
    // depth (Addressing:DomainsWithoutSubaddresses as well).
    [RequiresUnreferencedCode(ReflectionReason), RequiresDynamicCode(ReflectionReason)]
    private static void ClearLists<T>(List<string> keys, T target) where T : class
    {
        var cleared = new HashSet<object>(ReferenceEqualityComparer.Instance);
        foreach (var key in keys)
        {
            object? node = target;
            foreach (var segment in key.Split(':'))
            {
                var property = node?.GetType().GetProperty(segment, BindingFlags.Public | BindingFlags.Instance | BindingFlags.IgnoreCase);
                if (property is not { CanRead: true } || property.GetIndexParameters().Length > 0)
                {
                    break;
                }
                node = property.GetValue(node);
                if (node is IEnumerable list and not string and not byte[])
                {
                    if (cleared.Add(list))
                    {
                        list.GetType().GetMethod("Clear", Type.EmptyTypes)?.Invoke(list, null);
                    }
                    break;
                }
            }
        }
    }

    [RequiresUnreferencedCode(ReflectionReason), RequiresDynamicCode(ReflectionReason)]
    private static void SetOctets<T>(IConfiguration section, T target, string key, string? value) where T : class
    {
        var property = SettingTargets.OctetsProperty(typeof(T), key)!;
        try
        {
            property.SetValue(target, new ReadOnlyMemory<byte>(Convert.FromBase64String(value ?? "")));
        }
        catch (Exception failure) when (failure is FormatException or TargetInvocationException)
        {
            throw Refusal<T>(PathOf(section, key), failure is FormatException ? "is not base64 text." : Reason(failure, null), failure);
        }
    }

    private static string FirstSegment(string key)
    {
        var separator = key.IndexOf(':', StringComparison.Ordinal);
        return separator < 0 ? key : key[..separator];
    }

    /// <summary>What the binder or a setter said, without the parts that mean nothing to whoever edits the configuration.</summary>
    internal static string Reason(Exception exception, string? value)
    {
        while (exception is TargetInvocationException { InnerException: { } inner })
        {
            exception = inner;
        }
        if (exception is InvalidOperationException && exception.Message.Contains("properties were not found", StringComparison.Ordinal))
        {
            return "there is no such setting (misspelt?)";
        }
        if (exception is InvalidOperationException && exception.Message.Contains("binding has failed", StringComparison.Ordinal))
        {
            // The binder's words for a value it could not convert (an enum name, say) without saying which value.
            return $"'{value}' is not a value this setting takes" + (exception.InnerException is { } cause ? $" ({WithoutParameter(cause)})" : ".");
        }
        if (exception is InvalidOperationException && exception.Message.StartsWith("Failed to convert", StringComparison.Ordinal) && exception.InnerException is { } conversion)
        {
            return $"'{value}' is not a value this setting takes ({WithoutParameter(conversion)})";
        }
        return WithoutParameter(exception);
    }

    private static string WithoutParameter(Exception exception) =>
        exception is ArgumentException { ParamName: { } name } ? exception.Message.Replace($" (Parameter '{name}')", "", StringComparison.Ordinal) : exception.Message;
}

/// <summary>A setting the configuration binder could not apply; the message starts with the setting's path.</summary>
internal sealed class SettingsBindingException(Type settingsType, string message, Exception inner)
    : OptionsValidationException(Options.DefaultName, settingsType, [message])
{
    /// <summary>The binder's own exception.</summary>
    public Exception BindingFailure { get; } = inner;
}
