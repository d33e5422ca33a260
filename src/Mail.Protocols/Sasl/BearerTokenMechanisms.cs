using System.Text;
using System.Text.Json;
using Mail.Protocols.Users;

namespace Mail.Protocols.Sasl;

// What the two bearer-token mechanisms share: the token checked by the application, its login looked up in the
// directory (which counts failed logins like any other), the claimed identity compared, and on failure the JSON error
// sent as one last challenge (SMTP and IMAP; POP3 fails at once).
internal abstract class BearerTokenMechanism(IOAuthTokenValidator validator, SaslContext context, byte[] errorJson) : SaslMechanism
{
    // RFC 7628 §3.1: key = 1*(ALPHA).
    private static readonly System.Buffers.SearchValues<char> s_keyLetters =
        System.Buffers.SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz");

    public override bool IsPlaintext => true;

    public override ValueTask<SaslStep> StartAsync(byte[]? initialResponse, CancellationToken cancellationToken = default) =>
        initialResponse is null ? ValueTask.FromResult(SaslStep.Challenge([])) : StepAsync(initialResponse, cancellationToken);

    public override async ValueTask<SaslStep> StepAsync(byte[] response, CancellationToken cancellationToken = default)
    {
        string text;
        try
        {
            text = SaslText.Utf8.GetString(response);
        }
        catch (DecoderFallbackException)
        {
            return SaslStep.Malformed($"{Name} message is not UTF-8");
        }
        if (!TryParse(text, out var token, out var claimed, out var problem))
        {
            return SaslStep.Malformed($"{Name} message: {problem}");
        }
        // The identity claimed is looked up first, as a password mechanism looks up its login: through the session's
        // directory that takes a slot of that login's failure budget (a refused token counts against it) and finds nobody
        // for a login that is locked out.
        if (claimed is not null)
        {
            await context.Users.FindByLoginAsync(claimed, cancellationToken).ConfigureAwait(false);
        }
        var login = await validator.ValidateAsync(new OAuthToken(Name, token, claimed, context.Protocol), cancellationToken).ConfigureAwait(false);
        var user = login is null ? null : await context.Users.FindByLoginAsync(login, cancellationToken).ConfigureAwait(false);
        if (user is not null && (claimed is null || UserName.Comparer.Equals(claimed, user.Login) || user.OwnsAddress(claimed)))
        {
            return SaslStep.Success(user);
        }
        // RFC 7628 §3.2.2's error goes out as one more challenge (the exchange has failed already, whatever the client
        // answers) where the protocol's engine sends failure data; POP3's does not (SaslExchange.RunAsync).
        return SaslStep.Failed("invalid bearer token", errorJson);
    }

    // The token and the identity the client claims, from the client's message.
    protected abstract bool TryParse(string message, out string token, out string? user, out string problem);

    // The pairs of a message made of key=value fields each ended by ^A, with one more ^A at the end; the first field
    // (OAUTHBEARER's GS2 header) is returned apart when the mechanism has one.
    protected static bool TrySplit(string message, bool hasHeader, out string header, out Dictionary<string, string> pairs, out string problem)
    {
        header = "";
        pairs = new(StringComparer.Ordinal);
        problem = "";
        if (!message.EndsWith("\u0001\u0001", StringComparison.Ordinal))
        {
            problem = "does not end with two ^A";
            return false;
        }
        var fields = message[..^2].Split('\u0001');
        for (var i = 0; i < fields.Length; i++)
        {
            if (hasHeader && i == 0)
            {
                header = fields[0];
                continue;
            }
            var equals = fields[i].IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0 || fields[i].AsSpan(0, equals).ContainsAnyExcept(s_keyLetters) || !pairs.TryAdd(fields[i][..equals], fields[i][(equals + 1)..]))
            {
                problem = "a field is not key=value, or a key is repeated";
                return false;
            }
        }
        return true;
    }

    // An error's JSON object: the fields that have a value, in order.
    protected static byte[] Json(params (string Name, string? Value)[] fields)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            foreach (var (name, value) in fields)
            {
                if (value is not null)
                {
                    json.WriteString(name, value);
                }
            }
            json.WriteEndObject();
        }
        return buffer.ToArray();
    }

    // RFC 6750 §2.1: "Bearer" (any case), one or more spaces, the token.
    protected static bool TryBearer(Dictionary<string, string> pairs, out string token)
    {
        token = "";
        if (!pairs.TryGetValue("auth", out var auth) || !auth.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }
        token = auth[7..].TrimStart(' ');
        return token.Length > 0;
    }
}

// RFC 7628: gs2-header ^A [host=...^A] [port=...^A] auth=Bearer <token> ^A ^A, where the GS2 header is "n,a=<authzid>,"
// (or "y,"); channel binding ("p=") is not defined for this mechanism.
internal sealed class OAuthBearerMechanism(IOAuthTokenValidator validator, SaslContext context, byte[] errorJson)
    : BearerTokenMechanism(validator, context, errorJson)
{
    public override string Name => SaslMechanisms.OAuthBearer;

    protected override bool TryParse(string message, out string token, out string? user, out string problem)
    {
        token = "";
        user = null;
        if (!TrySplit(message, hasHeader: true, out var header, out var pairs, out problem))
        {
            return false;
        }
        var parts = header.Split(',');
        if (parts.Length != 3 || parts[0] is not ("n" or "y") || parts[2].Length != 0)
        {
            problem = "the GS2 header is not \"n,[a=user],\"";
            return false;
        }
        if (parts[1].Length > 0)
        {
            if (!parts[1].StartsWith("a=", StringComparison.Ordinal) || parts[1].Length == 2)
            {
                problem = "the authorization identity is not a=user";
                return false;
            }
            // RFC 5801 saslname: ',' and '=' are sent as =2C and =3D.
            user = parts[1][2..].Replace("=2C", ",", StringComparison.Ordinal).Replace("=3D", "=", StringComparison.Ordinal);
        }
        if (!TryBearer(pairs, out token))
        {
            problem = "no auth=Bearer field";
            return false;
        }
        return true;
    }

    public static byte[] ErrorJson(string? scope, Uri? openIdConfiguration) =>
        Json(("status", "invalid_token"), ("scope", scope), ("openid-configuration", openIdConfiguration?.AbsoluteUri));
}

// XOAUTH2: user=<user> ^A auth=Bearer <token> ^A ^A; on failure the server sends a JSON error and the client answers
// with an empty line.
internal sealed class XOAuth2Mechanism(IOAuthTokenValidator validator, SaslContext context, byte[] errorJson)
    : BearerTokenMechanism(validator, context, errorJson)
{
    public override string Name => SaslMechanisms.XOAuth2;

    protected override bool TryParse(string message, out string token, out string? user, out string problem)
    {
        token = "";
        user = null;
        if (!TrySplit(message, hasHeader: false, out _, out var pairs, out problem))
        {
            return false;
        }
        if (!pairs.TryGetValue("user", out user) || user.Length == 0)
        {
            problem = "no user field";
            return false;
        }
        if (!TryBearer(pairs, out token))
        {
            problem = "no auth=Bearer field";
            return false;
        }
        return true;
    }

    public static byte[] ErrorJson(string? scope) => Json(("status", "401"), ("schemes", "bearer"), ("scope", scope));
}
