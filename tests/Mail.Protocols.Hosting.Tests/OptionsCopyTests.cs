using System.Reflection;
using Mail.Protocols.Imap;
using Mail.Protocols.Pop3;
using Mail.Protocols.Smtp;
using Mail.Protocols.Smtp.Client;
using Mail.Protocols.Smtp.Delivery;

namespace Mail.Protocols.Hosting.Tests;

/// <summary>
/// The copies MailHost makes of the settings it is given: every setting carried, lists and fixed groups copied rather than
/// shared, and a settings type that gains a fixed group OptionsCopy does not know fails here rather than in a trimmed host.
/// </summary>
public sealed class OptionsCopyTests
{
    [Fact]
    public void Every_settings_type_the_host_copies_is_copied_with_every_setting()
    {
        AssertCopiedWhole(new SmtpServerOptions());
        AssertCopiedWhole(new Pop3ServerOptions());
        AssertCopiedWhole(new ImapServerOptions());
        AssertCopiedWhole(new DeliveryAgentOptions());
        AssertCopiedWhole(new SmtpClientOptions());
    }

    [Fact]
    public void Limits_and_lists_are_copied_not_shared()
    {
        var source = new SmtpServerOptions();
        source.Limits.MaxConnections = 7;
        source.AuthMechanisms.Clear();
        source.AuthMechanisms.Add("PLAIN");

        var copy = OptionsCopy.Of(source);
        copy.Limits.MaxConnections = 9;
        copy.AuthMechanisms.Add("LOGIN");

        Assert.Equal(7, source.Limits.MaxConnections);
        Assert.Equal(["PLAIN"], source.AuthMechanisms);
        Assert.Equal(["PLAIN", "LOGIN"], copy.AuthMechanisms);
    }

    // Each settable property of a simple type is given a value other than its default on the source; the copy must
    // have them all (a property the copy skipped keeps the default and fails the comparison).
    private static void AssertCopiedWhole<T>(T source) where T : class, new()
    {
        var changed = 0;
        foreach (var property in typeof(T).GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.SetMethod is { IsPublic: true }))
        {
            var type = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
            object? value = type == typeof(string) ? "changed.example"
                : type == typeof(TimeSpan) ? TimeSpan.FromSeconds(1234)
                : type == typeof(int) ? 4321
                : type == typeof(bool) ? !((bool?)property.GetValue(source) ?? false)
                : type.IsEnum ? Enum.GetValues(type).Cast<object>().First(v => !Equals(v, property.GetValue(source)))
                : null;
            if (value is null)
            {
                continue;
            }
            property.SetValue(source, value);
            changed++;
        }
        var copy = OptionsCopy.Of(source);
        Assert.True(changed > 0, typeof(T).Name);
        foreach (var property in typeof(T).GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.SetMethod is { IsPublic: true }))
        {
            Assert.True(Equals(property.GetValue(source), property.GetValue(copy)), $"{typeof(T).Name}.{property.Name} was not copied");
        }
    }
}
