using System.Globalization;
using System.Text;

namespace Mail.Protocols.Smtp.Protocol;

/// <summary>
/// The replies that name the server, encoded once per server instead of once per session, and the EHLO
/// extension lists for the four combinations of STARTTLS and AUTH being on offer.
/// </summary>
internal sealed class ServerReplies
{
    private readonly byte[][] _extensions = new byte[4][];

    public ServerReplies(SmtpServerOptions options, IReadOnlyList<string> authMechanisms)
    {
        var host = options.ServerName;
        AuthMechanisms = authMechanisms;
        Greeting = Line($"220 {host} ESMTP");
        Helo = Line($"250 {host}");
        Closing = Line($"221 2.0.0 {host} closing connection");
        Timeout = Line($"421 4.4.2 {host} Error: timeout exceeded");
        DataRateTooLow = Line($"421 4.4.2 {host} Error: message data arrived too slowly");
        ShuttingDown = Line($"421 4.3.2 {host} Service shutting down");
        TooManyErrors = Line($"421 4.7.0 {host} Error: too many errors");
        TooManyAuthFailures = Line($"421 4.7.0 {host} Error: too many authentication failures");
        EhloPrefix = Encoding.ASCII.GetBytes($"250-{host} greets ");
        HelpAuthMechanisms = Line("214-2.0.0 Mechanisms: " + string.Join(' ', authMechanisms));
        for (var i = 0; i < 4; i++)
        {
            var builder = new StringBuilder(256)
                .Append("250-PIPELINING\r\n")
                .Append(CultureInfo.InvariantCulture, $"250-SIZE {options.MaxMessageSize}\r\n")
                .Append("250-8BITMIME\r\n250-BINARYMIME\r\n250-CHUNKING\r\n250-ENHANCEDSTATUSCODES\r\n250-DSN\r\n250-SMTPUTF8\r\n");
            if ((i & 1) != 0)
            {
                builder.Append("250-STARTTLS\r\n");
            }
            if ((i & 2) != 0 && authMechanisms.Count > 0)
            {
                builder.Append("250-AUTH ").AppendJoin(' ', authMechanisms).Append("\r\n");
            }
            builder.Append("250 HELP\r\n");
            _extensions[i] = Encoding.ASCII.GetBytes(builder.ToString());
        }
    }

    /// <summary>The SASL mechanisms offered, in order.</summary>
    public IReadOnlyList<string> AuthMechanisms { get; }

    public byte[] Greeting { get; }
    public byte[] Helo { get; }
    public byte[] Closing { get; }
    public byte[] Timeout { get; }
    public byte[] DataRateTooLow { get; }
    public byte[] ShuttingDown { get; }
    public byte[] TooManyErrors { get; }
    public byte[] TooManyAuthFailures { get; }

    /// <summary>HELP AUTH's availability line: the mechanisms this server offers.</summary>
    public byte[] HelpAuthMechanisms { get; }

    /// <summary>"250-host greets " — the client's name and address follow.</summary>
    public byte[] EhloPrefix { get; }

    /// <summary>The extension lines after the first EHLO line, ending with "250 HELP".</summary>
    public byte[] EhloExtensions(bool startTls, bool auth) => _extensions[(startTls ? 1 : 0) | (auth ? 2 : 0)];

    private static byte[] Line(string text) => Encoding.ASCII.GetBytes(text + "\r\n");
}
