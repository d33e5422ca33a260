using Mail.Protocols.Sasl;

namespace Mail.Protocols.Imap.Protocol;

// Each Parse below starts right after the command name (it reads the SP before the first argument itself) and reads
// to the end of the command.

/// <summary>LOGIN's arguments: <c>login = "LOGIN" SP userid SP password</c>, both astrings (RFC 9051 §6.2.3).</summary>
internal sealed record LoginArguments(string UserName, string Password)
{
    public static LoginArguments Parse(ref ImapReader reader)
    {
        reader.ReadSpace();
        var user = reader.ReadAString("Expected a user name");
        reader.ReadSpace();
        var password = reader.ReadAString("Expected a password");
        reader.ReadEnd();
        return new LoginArguments(user, password);
    }

    /// <summary>Never shows the password.</summary>
    public override string ToString() => $"LoginArguments {{ UserName = {UserName} }}";
}

/// <summary>
/// AUTHENTICATE's arguments: <c>authenticate = "AUTHENTICATE" SP auth-type [SP initial-resp]</c> with RFC 4959
/// (SASL-IR) <c>initial-resp = (base64 / "=")</c>, "=" being an empty response.
/// </summary>
/// <param name="Mechanism">The mechanism name, in upper case.</param>
/// <param name="InitialResponse">The decoded initial response; null when none was given, empty for "=".</param>
internal sealed record AuthenticateArguments(string Mechanism, byte[]? InitialResponse)
{
    public static AuthenticateArguments Parse(ref ImapReader reader)
    {
        reader.ReadSpace();
        var mechanism = reader.ReadAtomString("Expected a mechanism name").ToUpperInvariant();
        byte[]? initial = null;
        if (reader.TryReadSpace())
        {
            var text = reader.ReadAtomString("Expected an initial response");
            if (!SaslCommandExchange.TryParseInitialResponse(text, out initial))
            {
                ImapParseException.Throw("Invalid base64 in the initial response");
            }
        }
        reader.ReadEnd();
        return new AuthenticateArguments(mechanism, initial);
    }

    /// <summary>Never shows the initial response (it may hold a password).</summary>
    public override string ToString() => $"AuthenticateArguments {{ Mechanism = {Mechanism} }}";
}
