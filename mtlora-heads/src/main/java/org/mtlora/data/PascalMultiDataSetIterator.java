package org.mtlora.data;

import com.google.common.base.Preconditions;
import java.util.List;
import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.dataset.api.MultiDataSetPreProcessor;
import org.nd4j.linalg.dataset.api.iterator.MultiDataSetIterator;

/**
 * DL4J's {@link MultiDataSetIterator} over {@link PascalBatches}: one epoch of batches, features {@code [input]} and
 * labels in task order ({@code target/<task>}). Training iterators drop the last partial batch and reshuffle per
 * epoch (from the seed); evaluation iterators keep the order and the last partial batch, as the reference's loaders
 * do.
 */
public final class PascalMultiDataSetIterator implements MultiDataSetIterator {
  private static final long serialVersionUID = 1L;

  private final transient PascalBatches batches;
  private final List<String> tasks;
  private final boolean train;
  private int epoch;
  private int cursor;
  private transient MultiDataSetPreProcessor preProcessor;

  public PascalMultiDataSetIterator(PascalBatches batches, List<String> tasks, boolean train) {
    Preconditions.checkArgument(!tasks.isEmpty(), "at least one task");
    this.batches = batches;
    this.tasks = List.copyOf(tasks);
    this.train = train;
  }

  private int perEpoch() {
    return train ? batches.stepsPerEpoch() : batches.evaluationBatches();
  }

  @Override
  public boolean hasNext() {
    return cursor < perEpoch();
  }

  @Override
  public MultiDataSet next() {
    if (!hasNext()) {
      throw new java.util.NoSuchElementException("epoch " + epoch + " has " + perEpoch() + " batches");
    }
    long step = train ? (long) epoch * perEpoch() + cursor : cursor;
    cursor++;
    Map<String, INDArray> b = batches.batch(step);
    INDArray[] labels = new INDArray[tasks.size()];
    for (int i = 0; i < labels.length; i++) {
      labels[i] = b.get("target/" + tasks.get(i));
    }
    MultiDataSet ds = new org.nd4j.linalg.dataset.MultiDataSet(new INDArray[] {b.get("input")}, labels);
    if (preProcessor != null) {
      preProcessor.preProcess(ds);
    }
    return ds;
  }

  @Override
  public MultiDataSet next(int num) {
    throw new UnsupportedOperationException("the batch size is fixed by PascalBatches");
  }

  /** Starts the next epoch (training: a new shuffle). */
  @Override
  public void reset() {
    if (cursor > 0) {
      epoch++;
    }
    cursor = 0;
  }

  @Override
  public boolean resetSupported() {
    return true;
  }

  @Override
  public boolean asyncSupported() {
    return true;
  }

  @Override
  public void setPreProcessor(MultiDataSetPreProcessor preProcessor) {
    this.preProcessor = preProcessor;
  }

  @Override
  public MultiDataSetPreProcessor getPreProcessor() {
    return preProcessor;
  }
}
