using System.Collections;
using System.Reflection;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace Mail.Protocols.Hosting.Configuration;

/// <summary>
/// Binds a configuration section onto a settings object so that every mistake fails at start with the path of the
/// setting that caused it ("Mail:Smtp:MaxRecipients: ..."), including a key that names no setting (a typo) and a value
/// a setter refuses, which the configuration binder alone reports without saying where.
/// </summary>
internal static class SettingsBinder
{
    /// <summary>
    /// Binds the values under <paramref name="section"/> whose first key segment <paramref name="takes"/> accepts onto
    /// <paramref name="target"/>. A list named in the configuration replaces the list the settings start with.
    /// </summary>
    /// <exception cref="OptionsValidationException">A key or value is not a valid setting; the message names its path.</exception>
    public static void Bind<T>(IConfiguration section, T target, Func<string, bool> takes) where T : class, new()
    {
        var leaves = Leaves(section, takes);
        if (leaves.Count == 0)
        {
            return;
        }
        try
        {
            ClearListsNamedIn(leaves, target);
            BindLeaves(leaves, target);
        }
        catch (Exception failure) when (failure is not OutOfMemoryException)
        {
            // Find the first setting that fails on its own, against fresh settings, and name it.
            foreach (var leaf in leaves)
            {
                try
                {
                    var probe = new T();
                    ClearListsNamedIn([leaf], probe);
                    BindLeaves([leaf], probe);
                }
                catch (Exception culprit) when (culprit is not OutOfMemoryException)
                {
                    throw Refusal<T>(PathOf(section, leaf.Key), Reason(culprit, leaf.Value), culprit);
                }
            }
            throw Refusal<T>(PathOf(section, null), Reason(failure, null), failure);
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

    private static List<KeyValuePair<string, string?>> Leaves(IConfiguration section, Func<string, bool> takes)
    {
        var leaves = new List<KeyValuePair<string, string?>>();
        foreach (var (key, value) in section.AsEnumerable(makePathsRelative: true))
        {
            if (value is null)
            {
                continue;
            }
            var separator = key.IndexOf(':', StringComparison.Ordinal);
            if (takes(separator < 0 ? key : key[..separator]))
            {
                leaves.Add(new(key, value));
            }
        }
        leaves.Sort((a, b) => string.CompareOrdinal(a.Key, b.Key));
        return leaves;
    }

    private static void BindLeaves<T>(List<KeyValuePair<string, string?>> leaves, T target) where T : class =>
        new ConfigurationBuilder().AddInMemoryCollection(leaves).Build().Bind(target, options => options.ErrorOnUnknownConfiguration = true);

    // The binder adds a configured list's items to the items a get-only list starts with (AuthMechanisms would keep every
    // default mechanism and repeat the configured ones): a list given in configuration means exactly that list.
    private static void ClearListsNamedIn<T>(List<KeyValuePair<string, string?>> leaves, T target) where T : class
    {
        foreach (var (key, _) in leaves)
        {
            var separator = key.IndexOf(':', StringComparison.Ordinal);
            if (separator < 0)
            {
                continue;
            }
            var property = typeof(T).GetProperty(key[..separator], BindingFlags.Public | BindingFlags.Instance | BindingFlags.IgnoreCase);
            if (property is { CanRead: true } && property.PropertyType != typeof(string) && property.GetValue(target) is IEnumerable list and not string)
            {
                list.GetType().GetMethod("Clear", Type.EmptyTypes)?.Invoke(list, null);
            }
        }
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
