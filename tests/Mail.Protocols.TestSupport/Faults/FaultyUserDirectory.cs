using Mail.Protocols.Users;

namespace Mail.Protocols.TestSupport.Faults;

/// <summary>
/// A user directory that forwards to another and, while <see cref="Fault"/> is set, fails every lookup with it,
/// the way a directory server that does not answer would.
/// </summary>
public sealed class FaultyUserDirectory(IUserDirectory inner) : IUserDirectory
{
    public Exception? Fault { get; set; }

    public ValueTask<MailUser?> FindByLoginAsync(string login, CancellationToken cancellationToken = default) =>
        Fault is { } fault ? throw fault : inner.FindByLoginAsync(login, cancellationToken);

    public ValueTask<MailUser?> FindByAddressAsync(string address, CancellationToken cancellationToken = default) =>
        Fault is { } fault ? throw fault : inner.FindByAddressAsync(address, cancellationToken);

    public ValueTask<bool> VerifyPasswordAsync(MailUser user, string password, CancellationToken cancellationToken = default) =>
        Fault is { } fault ? throw fault : inner.VerifyPasswordAsync(user, password, cancellationToken);

    public ValueTask<string?> GetSharedSecretAsync(MailUser user, CancellationToken cancellationToken = default) =>
        Fault is { } fault ? throw fault : inner.GetSharedSecretAsync(user, cancellationToken);

    public bool HasSharedSecrets => inner.HasSharedSecrets;

    public ValueTask<ScramCredential?> GetScramCredentialAsync(MailUser user, CancellationToken cancellationToken = default) =>
        Fault is { } fault ? throw fault : inner.GetScramCredentialAsync(user, cancellationToken);
}
