// `ImapLoad login --authenticate`: the login sessions with AUTHENTICATE PLAIN (RFC 4616) instead of LOGIN.
// The SASL response is sent as an initial response on the command line when the server offers SASL-IR
// (RFC 4959), else after the server's empty "+" continuation. Which one is decided once per process from the
// first session's CAPABILITY (before LOGIN, as a client would read it), and printed on stderr.

using System.Text;

internal sealed partial class ImapConnection
{
    // null until the first session asked; then whether the server offers SASL-IR and AUTH=PLAIN.
    private static bool? s_saslIr;

    /// <summary>AUTHENTICATE PLAIN with the options' user and password, then SELECT INBOX; returns EXISTS.</summary>
    public async Task<int> AuthenticateAndSelectAsync(Options options, CancellationToken cancellationToken)
    {
        if (s_saslIr is not { } saslIr)
        {
            var capabilities = await CapabilitiesAsync(cancellationToken);
            if (!capabilities.Contains("AUTH=PLAIN"))
            {
                throw new ProtocolException("the server does not offer AUTH=PLAIN");
            }
            saslIr = capabilities.Contains("SASL-IR");
            if (s_saslIr is null)
            {
                Console.Error.WriteLine(saslIr ? "authenticate: SASL-IR" : "authenticate: continuation");
            }
            s_saslIr = saslIr;
        }
        // RFC 4616: authzid NUL authcid NUL passwd; the authorization identity is left empty.
        var response = Convert.ToBase64String(Encoding.UTF8.GetBytes($"\0{options.User}\0{options.Password}"));
        if (saslIr)
        {
            await CommandAsync($"AUTHENTICATE PLAIN {response}", cancellationToken: cancellationToken);
        }
        else
        {
            await ContinuedCommandAsync("AUTHENTICATE PLAIN", [Encoding.ASCII.GetBytes(response + "\r\n")],
                waitForContinuation: true, cancellationToken);
        }
        var select = await CommandAsync("SELECT INBOX", cancellationToken: cancellationToken);
        if (options.Messages is { } expected && select.Exists != expected)
        {
            throw new ProtocolException($"SELECT INBOX: {select.Exists} messages, expected {expected}");
        }
        return select.Exists;
    }
}
