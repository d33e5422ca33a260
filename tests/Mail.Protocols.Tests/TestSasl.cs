using Mail.Protocols.Sasl;
using Mail.Protocols.Users;

namespace Mail.Protocols.Tests;

// A mechanism from a registry with only the built-in ones, as an SMTP session would make it.
internal static class TestSasl
{
    private static readonly SaslMechanismRegistry s_registry = new();

    public static SaslMechanism? Create(string name, IUserDirectory users, string serverName) =>
        s_registry.Create(name, new SaslContext(users, serverName, TimeProvider.System, default, "smtp"));
}
