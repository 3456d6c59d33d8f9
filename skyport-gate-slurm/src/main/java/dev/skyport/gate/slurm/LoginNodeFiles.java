package dev.skyport.gate.slurm;

import dev.skyport.core.internal.ssh.SshConnections;
import dev.skyport.core.internal.ssh.SshNodeAccess;
import dev.skyport.core.internal.ssh.SshTarget;

import java.nio.file.Path;
import java.util.Optional;

/**
 * {@code files=ssh}: job directories are reached through the login node with the SSH transport's SFTP transfers
 * (temp name, checksum, rename, resume), as the ssh gate stages files.
 */
final class LoginNodeFiles extends SharedFiles {
    private final SshNodeAccess access;

    LoginNodeFiles(String node, String workRoot, SshTarget login, SshConnections connections) {
        super(node, workRoot);
        this.access = new SshNodeAccess(node, login, connections, Optional.empty());
    }

    @Override
    public void upload(Path local, String remotePath) {
        access.upload(local, remotePath);
    }

    @Override
    public void download(String remotePath, Path local) {
        access.download(remotePath, local);
    }

    @Override
    public void uploadTree(Path local, String remotePath) {
        access.uploadTree(local, remotePath);
    }

    @Override
    public void downloadTree(String remotePath, Path local) {
        access.downloadTree(remotePath, local);
    }

    @Override
    public void close() {
        access.close();
    }
}
