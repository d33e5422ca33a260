using System.Text;
using Mail.Protocols.Users;

namespace Mail.Protocols.Sasl;

// RFC 4616: message = [authzid] NUL authcid NUL passwd, sent as the initial response or after an empty challenge.
internal sealed class PlainMechanism(IUserDirectory users) : SaslMechanism
{
    public override string Name => SaslMechanisms.Plain;

    public override bool IsPlaintext => true;

    public override ValueTask<SaslStep> StartAsync(byte[]? initialResponse, CancellationToken cancellationToken = default) =>
        initialResponse is null ? ValueTask.FromResult(SaslStep.Challenge([])) : StepAsync(initialResponse, cancellationToken);

    public override async ValueTask<SaslStep> StepAsync(byte[] response, CancellationToken cancellationToken = default)
    {
        var first = Array.IndexOf(response, (byte)0);
        var second = first < 0 ? -1 : Array.IndexOf(response, (byte)0, first + 1);
        if (first < 0 || second < 0 || Array.IndexOf(response, (byte)0, second + 1) >= 0)
        {
            return SaslStep.Malformed("PLAIN message does not have three NUL-separated fields");
        }
        string authzid, authcid, password;
        try
        {
            authzid = SaslText.Utf8.GetString(response, 0, first);
            authcid = SaslText.Utf8.GetString(response, first + 1, second - first - 1);
            password = SaslText.Utf8.GetString(response, second + 1, response.Length - second - 1);
        }
        catch (DecoderFallbackException)
        {
            return SaslStep.Malformed("PLAIN message is not UTF-8");
        }
        if (authcid.Length == 0)
        {
            return SaslStep.Malformed("PLAIN message has an empty authentication identity");
        }
        var user = await users.FindByLoginAsync(authcid, cancellationToken).ConfigureAwait(false);
        if (user is null || !await users.VerifyPasswordAsync(user, password, cancellationToken).ConfigureAwait(false))
        {
            return SaslStep.Failed("invalid credentials");
        }
        // Acting for another identity is not supported: the authorization identity must be empty or the user itself.
        if (authzid.Length > 0 && !UserName.Comparer.Equals(authzid, user.Login))
        {
            return SaslStep.Failed("authorization identity differs from the authenticated user");
        }
        return SaslStep.Success(user);
    }
}

internal static class SaslText
{
    // Throws on invalid bytes instead of substituting, so malformed credentials never match by accident.
    public static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
}
