using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Mail.Protocols.Smtp.Client;

/// <summary>
/// The name a client gives in EHLO/HELO (RFC 5321 §4.1.1.1): its fully qualified domain name, or, when it has no such
/// name, an address literal (§4.1.3, §4.1.4). The machine's name is the default; where that is not a domain (a
/// host name with an underscore, say), the address the connection leaves from is used instead.
/// </summary>
public static class SmtpHelloName
{
    // Lets tests play a host whose name is not a domain; flows with the async context that sets it.
    internal static readonly AsyncLocal<string?> MachineNameOverride = new();

    /// <summary>The machine's name, the default of every server and client name setting.</summary>
    internal static string MachineName => MachineNameOverride.Value ?? Environment.MachineName;

    /// <summary>Whether <paramref name="name"/> is a valid argument of EHLO/HELO: an ASCII domain or an address literal.</summary>
    /// <param name="name">The name.</param>
    public static bool IsValid(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return EnvelopeSyntax.IsHelloName(name);
    }

    /// <summary>
    /// The EHLO name to use for a configured host name: the name itself when it is valid; null when it is the machine's
    /// own name and not a domain, meaning "the address literal of the connection's local address".
    /// </summary>
    /// <param name="name">The configured name.</param>
    /// <param name="paramName">The setting's name, for the exception.</param>
    /// <exception cref="ArgumentException">The name was configured (it is not the machine's name) and is neither a domain
    /// nor an address literal.</exception>
    public static string? Choose(string name, string paramName)
    {
        ArgumentNullException.ThrowIfNull(name, paramName);
        if (EnvelopeSyntax.IsHelloName(name))
        {
            return name;
        }
        if (string.Equals(name, MachineName, StringComparison.Ordinal))
        {
            return null;
        }
        throw new ArgumentException($"The host name '{Printable(name)}' is neither a domain nor an address literal (RFC 5321 §4.1.1.1, §4.1.3).", paramName);
    }

    /// <summary>The address literal of an address: <c>[192.0.2.1]</c>, <c>[IPv6:2001:db8::1]</c> (RFC 5321 §4.1.3).</summary>
    internal static string AddressLiteral(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }
        if (address.AddressFamily == AddressFamily.InterNetworkV6)
        {
            var bytes = address.GetAddressBytes(); // without the scope, which has no place in a literal
            return "[IPv6:" + new IPAddress(bytes).ToString() + "]";
        }
        return "[" + address.ToString() + "]";
    }

    private static string Printable(string name) =>
        string.Concat(name.Select(c => c < 0x20 || c == 0x7F ? "\\x" + ((int)c).ToString("X2", CultureInfo.InvariantCulture) : c.ToString()));
}
