using System.Net;
using Mail.Protocols.Smtp;

namespace Mail.Protocols.Hosting.Configuration;

/// <summary>One endpoint a server listens on, as configuration gives it (<c>Mail:Pop3:Listeners:0</c> and so on).</summary>
public class ListenerSettings
{
    /// <summary>The name the bound endpoint is reported under (say "pop3" or "pop3s"). Defaults to the protocol and the index.</summary>
    public string? Name { get; set; }

    /// <summary>The IP address to bind. Defaults to 127.0.0.1: a server is reachable from other machines only when told so.</summary>
    public string Address { get; set; } = "127.0.0.1";

    /// <summary>The port; required (0 picks a free port, reported by the service after start).</summary>
    public int? Port { get; set; }

    /// <summary>TLS from the first byte (ports 465, 993, 995 style, RFC 8314) instead of STARTTLS. Needs a certificate.</summary>
    public bool ImplicitTls { get; set; }

    /// <summary>
    /// False leaves the listener out (one line in the environment or on the command line turns off a listener that
    /// appsettings.json lists). A server whose every listener is off does not start. Defaults to true.
    /// </summary>
    public bool Enabled { get; set; } = true;

    /// <summary>The socket address, once <see cref="ListenerValidation"/> has accepted the settings.</summary>
    internal IPEndPoint ToEndPoint() => new(IPAddress.Parse(Address), Port ?? 0);
}

/// <summary>An SMTP endpoint: the listener settings and the role (MX or submission).</summary>
public sealed class SmtpListenerSettings : ListenerSettings
{
    /// <summary>MX (port 25 style: mail for the local domains, no relaying) or submission (587/465 style: AUTH required). Defaults to MX.</summary>
    public SmtpRole Role { get; set; } = SmtpRole.Mx;
}

/// <summary>The endpoints of the SMTP server (<c>Mail:Smtp:Listeners</c>).</summary>
public sealed class SmtpListenersOptions
{
    /// <summary>The endpoints; at least one.</summary>
    public IList<SmtpListenerSettings> Listeners { get; } = [];
}

/// <summary>The endpoints of the POP3 server (<c>Mail:Pop3:Listeners</c>).</summary>
public sealed class Pop3ListenersOptions
{
    /// <summary>The endpoints; at least one.</summary>
    public IList<ListenerSettings> Listeners { get; } = [];
}

/// <summary>The endpoints of the IMAP server (<c>Mail:Imap:Listeners</c>).</summary>
public sealed class ImapListenersOptions
{
    /// <summary>The endpoints; at least one.</summary>
    public IList<ListenerSettings> Listeners { get; } = [];
}

/// <summary>Checks a server's endpoints at start: at least one, each with an IP address and a port, names unique, a certificate for implicit TLS.</summary>
internal static class ListenerValidation
{
    public static IEnumerable<string> Check<TListener>(string sectionPath, IList<TListener> listeners) where TListener : ListenerSettings
    {
        var path = sectionPath + ":Listeners";
        if (listeners.Count == 0)
        {
            yield return $"{path}: at least one listener is needed (an Address and a Port).";
            yield break;
        }
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < listeners.Count; i++)
        {
            var listener = listeners[i];
            if (!listener.Enabled)
            {
                continue; // what a listener that is off says does not matter
            }
            if (!IsAddressText(listener.Address))
            {
                yield return $"{path}:{i}:Address: '{listener.Address}' is not an IP address (dotted IPv4 such as 127.0.0.1, or IPv6).";
            }
            if (listener.Port is not { } port)
            {
                yield return $"{path}:{i}:Port: a port is needed (0 picks a free one).";
            }
            else if (port is < 0 or > IPEndPoint.MaxPort)
            {
                yield return $"{path}:{i}:Port: {port} is not a TCP port (0 to 65535).";
            }
            if (listener.Name is { } name && !names.Add(name))
            {
                yield return $"{path}:{i}:Name: '{name}' names another listener of this server too.";
            }
        }
    }

    // IPAddress.Parse takes "0" for 0.0.0.0 (every interface) and "10" for 0.0.0.10: a typo must not open the server to
    // the network, so IPv4 is taken only in its four-part dotted form.
    internal static bool IsAddressText(string? text) =>
        IPAddress.TryParse(text, out var address)
        && (address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 || text.Count(c => c == '.') == 3);

    public static IEnumerable<string> CheckCertificate<TListener>(string sectionPath, IList<TListener> listeners, bool hasCertificate) where TListener : ListenerSettings
    {
        for (var i = 0; i < listeners.Count; i++)
        {
            if (listeners[i] is { Enabled: true, ImplicitTls: true } && !hasCertificate)
            {
                yield return $"{sectionPath}:Listeners:{i}:ImplicitTls: implicit TLS needs a certificate (the Tls settings, or MailTlsOptions in the container).";
            }
        }
    }
}
