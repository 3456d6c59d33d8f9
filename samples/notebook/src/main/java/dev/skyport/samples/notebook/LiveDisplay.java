package dev.skyport.samples.notebook;

import org.dflib.jjava.jupyter.kernel.BaseKernel;
import org.dflib.jjava.jupyter.kernel.display.DisplayData;

import java.io.PrintStream;
import java.util.Optional;
import java.util.UUID;

/**
 * One output that changes in place: in a notebook a {@code display_data} with a display id, then an
 * {@code update_display_data} for each change, so the cell shows one line that moves; elsewhere a plain line on
 * standard output for each change. Used from the thread running the cell only: the kernel's sockets are not
 * thread-safe.
 */
final class LiveDisplay {
    private final Optional<BaseKernel> kernel;
    private final String id = "skyport-" + UUID.randomUUID();
    private boolean shown;
    private String lastText = "";

    private LiveDisplay(Optional<BaseKernel> kernel) {
        this.kernel = kernel;
    }

    static LiveDisplay open() {
        return new LiveDisplay(notebookKernel());
    }

    /** Shows {@code html} (plain {@code text} where HTML is not shown) if it differs from what is shown now. */
    void show(String html, String text) {
        if (text.equals(lastText) && shown) {
            return;
        }
        lastText = text;
        if (kernel.isEmpty()) {
            PrintStream out = System.out;
            out.println(text);
            shown = true;
            return;
        }
        DisplayData data = new DisplayData(text);
        data.putHTML(html);
        data.setDisplayId(id);
        if (shown) {
            kernel.get().getIO().display.updateDisplay(data);
        } else {
            kernel.get().display(data);
            shown = true;
        }
    }

    /** The kernel running this cell, if this code runs in one that is executing a cell now. */
    static Optional<BaseKernel> notebookKernel() {
        try {
            BaseKernel kernel = BaseKernel.notebookKernel();
            return kernel.getIO().display.isAttached() ? Optional.of(kernel) : Optional.empty();
        } catch (NullPointerException notInANotebook) {
            // jjava-jupyter says "no kernel" with a NullPointerException, and has no other way to ask.
            return Optional.empty();
        }
    }
}
