package dev.skyport.gate.azure;

import java.util.List;
import java.util.Optional;

/** What the gate offers in its region: VM sizes with prices, and images. Thread-safe; may cache. */
interface Catalogue {
    /** Every offered size, with its price. */
    List<VmSize> sizes();

    Optional<VmSize> size(String name);

    /** Every offered image. */
    List<ImageRef> images();

    /** The image of this name ({@code <offer>/<sku>}, or as configured). */
    Optional<ImageRef> image(String name);

    /** The image a partition gets when the job names none. */
    ImageRef defaultImage();
}
